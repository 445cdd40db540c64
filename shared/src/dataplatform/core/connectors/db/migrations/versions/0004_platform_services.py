"""Platform services: users, roles, API keys, the hash-chained audit log, the data catalog,
product configuration versions and deployments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    _auth()
    _audit()
    _lineage_ids_never_reused()
    _catalog()
    _administration()


def _auth() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("permissions", sa.JSON, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "platform_secrets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def _audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("route", sa.String(300), nullable=True),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("table_name", sa.String(200), nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column("pii", sa.Boolean, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_recorded_at", "audit_log", ["recorded_at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    # One row: the last appended entry. Appenders lock it, so the chain never forks.
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def _lineage_ids_never_reused() -> None:
    # The platform publishes lineage edges to the lake in id order, so an id must never come
    # back; SQLite reuses the ids of deleted rows unless the table is AUTOINCREMENT.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "lineage_edges", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def _catalog() -> None:
    op.create_table(
        "catalog_tables",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("layer", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=True),
        # Values changed through the API; they win over what the product declares.
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("file_count", sa.Integer, nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stats_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_catalog_tables_product", "catalog_tables", ["product"])
    op.create_table(
        "catalog_columns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("nullable", sa.Boolean, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.UniqueConstraint("table_name", "name", name="uq_catalog_columns_table_name"),
    )
    op.create_index("ix_catalog_columns_name", "catalog_columns", ["name"])


def _administration() -> None:
    op.create_table(
        "product_config_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.UniqueConstraint("product", "version", name="uq_product_config_versions"),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deployments_product", "deployments", ["product", "recorded_at"])


def downgrade() -> None:
    for table in (
        "deployments",
        "product_config_versions",
        "catalog_columns",
        "catalog_tables",
        "audit_chain_head",
        "audit_log",
        "platform_secrets",
        "api_keys",
        "users",
        "roles",
    ):
        op.drop_table(table)
