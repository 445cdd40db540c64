"""Enforcing the catalog's retention on one table: delete the rows older than the cutoff,
scrub them from the change-data file the delete writes, and vacuum.

The vacuum keeps the table's own retention (`delta.deletedFileRetentionDuration`, 7 days unless
the table says otherwise), so readers of recent versions keep working; the expired rows leave
the disk with the files that held them when that has passed. The platform's own tables
(`platform.*`) are left to the platform: the audit log is a hash chain that must stay whole.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from compliance_auditing.catalog import CatalogEntry
from compliance_auditing.retention._time_columns import time_column
from dataplatform.core.connectors.lakehouse import Lakehouse, RowMatcher

logger = logging.getLogger(__name__)

PLATFORM_NAMESPACE = "platform"


@dataclass(frozen=True)
class Outcome:
    """A `gold.retention_runs` row, less the run's id and time."""

    table: str
    retention_days: int
    cutoff: datetime
    status: str
    time_column: str | None = None
    rows_removed: int = 0
    version_before: int | None = None
    version_after: int | None = None
    files_vacuumed: int = 0
    change_rows_scrubbed: int = 0
    reason: str | None = None

    def row(self, run_id: str, run_at: datetime) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "run_at": run_at,
            "table_name": self.table,
            "retention_days": self.retention_days,
            "time_column": self.time_column,
            "cutoff": self.cutoff,
            "status": self.status,
            "rows_removed": self.rows_removed,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "files_vacuumed": self.files_vacuumed,
            "change_rows_scrubbed": self.change_rows_scrubbed,
            "reason": self.reason,
        }


def governed(lake: Lakehouse, entry: CatalogEntry) -> bool:
    """Whether retention applies: a retention is set, the table exists, the platform does not own it."""
    return (
        entry.retention_days is not None
        and not entry.table.startswith(f"{PLATFORM_NAMESPACE}.")
        and lake.exists(entry.table)
    )


def enforce(lake: Lakehouse, entry: CatalogEntry, now: datetime) -> Outcome:
    """Apply `entry`'s retention to its table at `now`; failures come back as a `failed` outcome."""
    days = int(entry.retention_days or 0)
    cutoff = now - timedelta(days=days)
    try:
        schema = lake.schema(entry.table)
        column = time_column(schema)
        if column is None:
            reason = "no time column: it has none of the columns the retention rule looks for"
            logger.warning("retention skips %s: %s", entry.table, reason)
            return Outcome(entry.table, days, cutoff, "skipped", reason=reason)
        before = lake.version(entry.table)
        kind = schema.field(column).type
        result = lake.delete(entry.table, f'"{column}" < {_literal(cutoff, kind)}')
        scrubbed = 0
        if result.rows:
            expired = _older_than(column, cutoff, kind)
            scrubbed = lake.scrub_change_data(entry.table, expired, version=result.version).rows
        vacuumed = lake.vacuum(entry.table)
        return Outcome(
            entry.table,
            days,
            cutoff,
            "removed" if result.rows else "nothing_due",
            column,
            result.rows,
            before,
            lake.version(entry.table),
            len(vacuumed),
            scrubbed,
        )
    except Exception as exc:  # recorded; the other tables still get their turn
        logger.exception("retention failed on %s", entry.table)
        return Outcome(entry.table, days, cutoff, "failed", reason=f"{type(exc).__name__}: {exc}")


def _literal(cutoff: datetime, kind: pa.DataType) -> str:
    if pa.types.is_date(kind):
        return f"'{cutoff.date().isoformat()}'"
    if kind.tz is None:
        return f"'{cutoff.replace(tzinfo=None).isoformat()}'"
    return f"'{cutoff.isoformat()}'"


def _older_than(column: str, cutoff: datetime, kind: pa.DataType) -> RowMatcher:
    value: object = cutoff
    if pa.types.is_date(kind):
        value = cutoff.date()
    elif kind.tz is None:
        value = cutoff.replace(tzinfo=None)
    bound = pa.scalar(value, kind)

    def matches(rows: pa.Table) -> pa.ChunkedArray:
        return pc.less(rows[column], bound)

    return matches
