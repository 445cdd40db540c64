"""Retention: the `enforce_retention` job deletes, in every product table the catalog gives a
retention, the rows older than that many days (by the rule of `_time_columns.py`), vacuums, and
appends what it did per table to `gold.retention_runs`.

Retention days come from the published catalog (`platform.gold.catalog`), stewards' overrides
included. Until the platform has published it the job does nothing and says so: falling back to
the products' declarations could delete rows a steward has put on hold.
"""

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from compliance_auditing.catalog import CATALOG, read_catalog
from compliance_auditing.retention._enforce import enforce, governed
from compliance_auditing.retention._time_columns import TIME_COLUMNS, time_column
from compliance_auditing.settings import ComplianceAuditingSettings
from compliance_auditing.storage import RETENTION_RUNS, RETENTION_RUNS_SCHEMA
from dataplatform.core.jobs import Job, JobContext

logger = logging.getLogger(__name__)


def run_retention(
    context: JobContext[ComplianceAuditingSettings], now: datetime | None = None
) -> Mapping[str, Any]:
    """Enforce every table's retention once; a summary of what was removed and skipped."""
    lake = context.lake
    runs_table = context.table(RETENTION_RUNS)
    catalog = read_catalog(lake)
    if catalog is None:
        logger.warning("retention waits: the platform has not published %s yet", CATALOG)
        return {"status": "waiting", "reason": f"`{CATALOG}` is not published yet"}
    now = now or datetime.now(UTC)
    run_id = uuid.uuid4().hex
    outcomes = [
        enforce(lake, entry, now) for _, entry in sorted(catalog.items()) if governed(lake, entry)
    ]
    if outcomes:
        if not lake.exists(runs_table):
            lake.create(runs_table, RETENTION_RUNS_SCHEMA)
        rows = [outcome.row(run_id, now) for outcome in outcomes]
        lake.append(runs_table, pa.Table.from_pylist(rows, RETENTION_RUNS_SCHEMA))
    return {
        "run_id": run_id,
        "tables": len(outcomes),
        "rows_removed": sum(o.rows_removed for o in outcomes),
        "skipped": [o.table for o in outcomes if o.status == "skipped"],
        "failed": [o.table for o in outcomes if o.status == "failed"],
    }


enforce_retention = Job(
    name="enforce_retention",
    description="Delete rows older than each table's retention in the catalog, vacuum, and "
    "record what was removed in gold.retention_runs.",
    run=run_retention,
    every_setting="retention_every_seconds",
)

__all__ = ["TIME_COLUMNS", "enforce_retention", "run_retention", "time_column"]
