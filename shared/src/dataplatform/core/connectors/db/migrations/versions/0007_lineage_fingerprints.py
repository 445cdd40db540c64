"""What each model's recorded column lineage was computed from, so that a runner starting
again (a `models run`, a restarted worker) does not parse every model's SQL to learn that
nothing changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_fingerprints",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lineage_fingerprints")
