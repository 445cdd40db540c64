"""What the catalog answers about a table: its values in force, statistics and freshness."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from dataplatform.core.declarations import PII
from dataplatform.platform.catalog._records import (
    CatalogColumnRecord,
    CatalogTableRecord,
    effective,
    utc,
)

TABLE_EDITABLE = ("description", "owner", "tags", "retention_days")
COLUMN_EDITABLE = ("description", "tags")


@dataclass(frozen=True)
class ColumnEntry:
    name: str
    type: str
    nullable: bool
    description: str
    tags: list[str]
    overridden: list[str]  # attributes whose value was set by hand


@dataclass(frozen=True)
class TableEntry:
    name: str
    product: str
    layer: str
    description: str
    owner: str
    tags: list[str]
    retention_days: int | None
    version: int | None
    row_count: int | None
    size_bytes: int | None
    file_count: int | None
    last_modified: datetime | None
    freshness_seconds: float | None  # now - last_modified, when the table was ever written
    stats_at: datetime | None
    overridden: list[str]
    columns: list[ColumnEntry] = field(default_factory=list)

    @property
    def pii_columns(self) -> list[str]:
        return [column.name for column in self.columns if PII in column.tags]

    def as_json(self, *, with_columns: bool = True) -> dict[str, Any]:
        values = asdict(self)
        if not with_columns:
            del values["columns"]
        return values


def column_entry(record: CatalogColumnRecord) -> ColumnEntry:
    return ColumnEntry(
        name=record.name,
        type=record.type,
        nullable=record.nullable,
        description=effective(record, "description"),
        tags=list(effective(record, "tags")),
        overridden=[name for name in COLUMN_EDITABLE if name in (record.overrides or {})],
    )


def table_entry(
    record: CatalogTableRecord, columns: Iterable[CatalogColumnRecord], now: datetime
) -> TableEntry:
    """The table as it is in force `now`: overrides applied, tagged `pii` when a column is."""
    column_entries = [column_entry(column) for column in sorted(columns, key=_position)]
    # A table is `pii` exactly when one of its columns is: the columns decide the masking.
    tags = [tag for tag in effective(record, "tags") if tag != PII]
    if any(PII in column.tags for column in column_entries):
        tags.append(PII)
    last_modified = utc(record.last_modified)
    return TableEntry(
        name=record.name,
        product=record.product,
        layer=record.layer,
        description=effective(record, "description"),
        owner=effective(record, "owner"),
        tags=tags,
        retention_days=effective(record, "retention_days"),
        version=record.version,
        row_count=record.row_count,
        size_bytes=record.size_bytes,
        file_count=record.file_count,
        last_modified=last_modified,
        freshness_seconds=(
            round((now - last_modified).total_seconds(), 3) if last_modified else None
        ),
        stats_at=utc(record.stats_at),
        overridden=[name for name in TABLE_EDITABLE if name in (record.overrides or {})],
        columns=column_entries,
    )


def _position(record: CatalogColumnRecord) -> int:
    return record.position
