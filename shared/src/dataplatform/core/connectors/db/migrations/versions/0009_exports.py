"""Scheduled exports and the record of each period they exported.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sql", sa.Text, nullable=False),
        sa.Column("tables", sa.JSON, nullable=False),
        sa.Column("time_column", sa.String(200), nullable=True),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("secret_env", sa.String(200), nullable=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("include_pii", sa.Boolean, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "export_runs",
        sa.Column("export", sa.String(100), primary_key=True),
        sa.Column("period_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("location", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("export_runs")
    op.drop_table("exports")
