"""Insights on a product's own events: trends over any event names and properties the SDKs
sent, answered with SQL over the product's event-level table.

A product that owns events says where they are and what its columns mean (`EventSource`), and
mounts the routes beside its own:

    router.include_router(insights_router(PRODUCT, EventSource(
        table=context.table("gold.session_events"), person="person_id", ...),
        timezone=settings.reporting_timezone))

Every answer goes through `gold_rows`: PII masked by the query's lineage, the read audited, and
the answer kept per table version, so asking again costs nothing until new events land.
"""

from dataplatform.core.insights._alerts import (
    TREND_ALERT_CHECKS_SCHEMA,
    TREND_ALERT_DELIVERIES_SCHEMA,
    TREND_ALERTS_SCHEMA,
    check_trend_alerts,
    trend_alerts_job,
)
from dataplatform.core.insights._cohorts import COHORTS_SCHEMA
from dataplatform.core.insights._console import insights_page
from dataplatform.core.insights._router import insights_router
from dataplatform.core.insights._source import AlertTables, EventSource, Segments
from dataplatform.core.insights._storage import alert_tables_of, insights_tables

__all__ = [
    "COHORTS_SCHEMA",
    "TREND_ALERTS_SCHEMA",
    "TREND_ALERT_CHECKS_SCHEMA",
    "TREND_ALERT_DELIVERIES_SCHEMA",
    "AlertTables",
    "EventSource",
    "Segments",
    "alert_tables_of",
    "check_trend_alerts",
    "insights_page",
    "insights_router",
    "insights_tables",
    "trend_alerts_job",
]
