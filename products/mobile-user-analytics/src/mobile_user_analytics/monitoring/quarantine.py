"""The share of the last day's events set aside in quarantine: refused by the collector's
validation, or by silver.app_events' checks."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.lakehouse import Lakehouse, quarantine_of
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus
from dataplatform.core.processing import quarantine_table
from mobile_user_analytics.ingestion import STREAMS

WINDOW = timedelta(days=1)
# Above this share, events are being lost to bad input or a broken check: worth a look.
MOST_QUARANTINED = 0.01


def quarantine_rate_at(context: HealthContext[Any], now: datetime) -> tuple[HealthStatus, str]:
    """Quarantined / (quarantined + accepted) events over the `WINDOW` before `now`."""
    since, lake = now - WINDOW, context.lake
    accepted = sum(
        _rows_since(lake, context.table(stream.table), "received_at", since) for stream in STREAMS
    )
    refused = sum(  # by the collector's validation, in each stream's quarantine
        _rows_since(lake, quarantine_of(context.namespace, stream.name), "received_at", since)
        for stream in STREAMS
    )
    checked = quarantine_table(context.table("silver.app_events"))
    failed_checks = _rows_since(lake, checked, "quarantined_at", since)
    quarantined = refused + failed_checks
    if quarantined + accepted == 0:
        return HealthStatus.OK, "no events in the last 24 h"
    rate = quarantined / (quarantined + accepted)
    status = HealthStatus.DEGRADED if rate > MOST_QUARANTINED else HealthStatus.OK
    return status, (
        f"{rate:.2%} of the last 24 h's events quarantined ({refused} refused by the collector, "
        f"{failed_checks} by the checks of silver.app_events, {accepted} accepted; more than "
        f"{MOST_QUARANTINED:.0%} degrades)"
    )


def _rows_since(lake: Lakehouse, table: str, column: str, since: datetime) -> int:
    """Rows in the files of `table` holding a `column` at or after `since`, from the Delta log's
    file statistics alone (no data file is read; a file straddling `since` counts whole)."""
    if not lake.exists(table):
        return 0
    files = pa.table(lake.table(table).get_add_actions(flatten=True))
    if files.num_rows == 0:
        return 0
    newest = pc.cast(files.column(f"max.{column}"), pa.timestamp("us", tz="UTC"))
    recent = pc.greater_equal(newest, pa.scalar(since, type=newest.type))
    return int(pc.sum(pc.filter(files.column("num_records"), recent)).as_py() or 0)


quarantine_rate = HealthCheck(
    "quarantine_rate", lambda context: quarantine_rate_at(context, datetime.now(UTC))
)
