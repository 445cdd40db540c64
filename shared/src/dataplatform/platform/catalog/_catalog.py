"""The data catalog: every table of every product, with its columns, tags and owner.

Tables are registered from the products' declarations (table, PII tags, retention) and their models'
headers (column descriptions and tags) whenever a product starts; what an admin changes through
the API is kept as overrides, which win over the declarations and survive re-registration.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, TableName
from dataplatform.core.decorators import retry
from dataplatform.core.errors import CommitConflictError
from dataplatform.core.product import Product

PII = "pii"


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


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeclaredTable:
    """What a product says about one of its tables, before anything was changed by hand."""

    name: str
    product: str
    description: str
    owner: str
    retention_days: int | None
    columns: tuple[DeclaredColumn, ...] = field(default=())

    @property
    def layer(self) -> str:
        return TableName.parse(self.name).layer

    @property
    def tags(self) -> list[str]:
        tags = [self.layer]
        if any(PII in column.tags for column in self.columns):
            tags.append(PII)
        return tags


def declared_tables(product: Product, lake: Lakehouse) -> list[DeclaredTable]:
    """The product's tables with the columns the lake, its declarations and its models give."""
    headers = {f"{product.namespace}.{model.name}": model.header for model in product.models()}
    tables = []
    for table in product.tables:
        name = product.table_name(table.name)
        header = headers.get(name)
        specs = header.columns if header else {}
        schema = lake.schema(name) if lake.exists(name) else table.schema
        typed = (
            _columns_of(schema)
            if schema is not None
            else [(column, spec.type or "unknown", True) for column, spec in specs.items()]
        )
        columns = tuple(
            DeclaredColumn(
                column,
                column_type,
                nullable,
                specs[column].description if column in specs else "",
                _tags(column in table.pii, specs[column].tags if column in specs else []),
            )
            for column, column_type, nullable in typed
        )
        owner = (header.owner if header else None) or product.owner
        tables.append(
            DeclaredTable(
                name, product.name, table.description, owner, table.retention_days, columns
            )
        )
    return tables


class DataCatalog:
    """Registers tables and answers what the catalog knows about them."""

    def __init__(self, store: MetadataStore, lake: Lakehouse) -> None:
        self.store = store
        self.lake = lake

    def register_products(self, products: Sequence[Product]) -> None:
        """Register every table of every product (idempotent; run when products start)."""
        for product in products:
            for table in declared_tables(product, self.lake):
                self.register_table(table)

    @retry(attempts=5)
    def register_table(self, table: DeclaredTable) -> None:
        """Create or refresh one table's declared facts; overrides made by hand are kept."""
        try:
            with self.store.session() as session:
                _upsert(session, table)
        except IntegrityError as exc:  # another process registered it at the same moment
            raise CommitConflictError(f"`{table.name}` was registered concurrently") from exc

    def pii_columns(self, table: str) -> frozenset[str]:
        """Columns of `table` whose tags (declared or changed by hand) include `pii`."""
        with self.store.session() as session:
            records = session.scalars(
                select(CatalogColumnRecord).where(CatalogColumnRecord.table_name == table)
            )
            return frozenset(record.name for record in records if PII in effective(record, "tags"))


def effective(record: CatalogTableRecord | CatalogColumnRecord, attribute: str) -> Any:
    """The value in force: the hand-made override if there is one, else the declared value."""
    overrides = record.overrides or {}
    return overrides[attribute] if attribute in overrides else getattr(record, attribute)


def _upsert(session: Session, table: DeclaredTable) -> None:
    record = session.get(CatalogTableRecord, table.name)
    if record is None:
        record = CatalogTableRecord(name=table.name, overrides={}, registered_at=datetime.now(UTC))
        session.add(record)
    record.product = table.product
    record.layer = table.layer
    record.description = table.description
    record.owner = table.owner
    record.tags = table.tags
    record.retention_days = table.retention_days
    existing = {
        column.name: column
        for column in session.scalars(
            select(CatalogColumnRecord).where(CatalogColumnRecord.table_name == table.name)
        )
    }
    for position, column in enumerate(table.columns):
        column_record = existing.pop(column.name, None)
        if column_record is None:
            column_record = CatalogColumnRecord(
                table_name=table.name, name=column.name, overrides={}
            )
            session.add(column_record)
        column_record.position = position
        column_record.type = column.type
        column_record.nullable = column.nullable
        column_record.description = column.description
        column_record.tags = list(column.tags)
    for gone in existing.values():  # the table no longer has these columns
        session.delete(gone)


def _columns_of(schema: pa.Schema) -> list[tuple[str, str, bool]]:
    return [(f.name, str(f.type), f.nullable) for f in schema]


def _tags(pii: bool, tags: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*([PII] if pii else []), *tags]))
