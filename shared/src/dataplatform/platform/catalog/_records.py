"""The catalog's rows in the metadata store (tables `catalog_tables` and `catalog_columns`).

Declared facts (from products and models) and statistics (from the Delta log) are plain columns;
what a data steward changed by hand is kept apart in `overrides`, which wins when read.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.bounds import as_utc
from dataplatform.core.connectors.db import Base


class CatalogTableRecord(Base):
    __tablename__ = "catalog_tables"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    product: Mapped[str] = mapped_column(String(100))
    layer: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stats_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CatalogColumnRecord(Base):
    __tablename__ = "catalog_columns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(200))
    nullable: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)


def effective(record: CatalogTableRecord | CatalogColumnRecord, attribute: str) -> Any:
    """The value in force: the hand-made override if there is one, else the declared value."""
    overrides = record.overrides or {}
    return overrides[attribute] if attribute in overrides else getattr(record, attribute)


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None:
        return None
    return as_utc(moment)
