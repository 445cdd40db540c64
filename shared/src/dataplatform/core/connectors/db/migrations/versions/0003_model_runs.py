"""Model runs (what each run read, wrote and checked) and the column lineage of every model.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("engine", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("rows_in", sa.BigInteger, nullable=True),
        sa.Column("rows_out", sa.BigInteger, nullable=True),
        sa.Column("rows_quarantined", sa.BigInteger, nullable=True),
        sa.Column("input_versions", sa.JSON, nullable=False),
        sa.Column("output_version", sa.Integer, nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_model_runs_model_sequence", "model_runs", ["model", "sequence"])
    op.create_index("ix_model_runs_started_at", "model_runs", ["started_at"])
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("source_table", sa.String(200), nullable=False),
        sa.Column("source_column", sa.String(200), nullable=False),
        sa.Column("target_table", sa.String(200), nullable=False),
        sa.Column("target_column", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lineage_edges_model", "lineage_edges", ["model"])
    op.create_index("ix_lineage_edges_source", "lineage_edges", ["source_table"])
    op.create_index("ix_lineage_edges_target", "lineage_edges", ["target_table"])


def downgrade() -> None:
    op.drop_table("lineage_edges")
    op.drop_table("model_runs")
