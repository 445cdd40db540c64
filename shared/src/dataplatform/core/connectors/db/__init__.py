"""The metadata store: SQLAlchemy 2 over SQLite (default) or PostgreSQL, migrated by Alembic."""

from dataplatform.core.connectors.db._store import Base, MetadataStore

__all__ = ["Base", "MetadataStore"]
