"""The tables a product with insights keeps for them, declared once for every such product:
saved cohorts, and trend alerts with their checks and deliveries (all written by the API and
the product's `check_trend_alerts` job, none by a model)."""

from collections.abc import Callable

from dataplatform.core.declarations import Table
from dataplatform.core.insights._alerts import (
    TREND_ALERT_CHECKS_SCHEMA,
    TREND_ALERT_DELIVERIES_SCHEMA,
    TREND_ALERTS_SCHEMA,
)
from dataplatform.core.insights._cohorts import COHORTS_SCHEMA
from dataplatform.core.insights._source import AlertTables


def insights_tables(prefix: str) -> tuple[Table, ...]:
    """The declarations, for the product's storage; `prefix` is its API's (`/web`)."""
    return (
        Table(
            "gold.cohorts",
            f"Cohorts saved through POST {prefix}/insights/cohorts: name, criteria, who saved "
            "them.",
            schema=COHORTS_SCHEMA,
        ),
        Table(
            "gold.trend_alerts",
            f"Trend alerts created through POST {prefix}/insights/alerts: the trend, its "
            "threshold, where the news goes, and until when it is snoozed.",
            schema=TREND_ALERTS_SCHEMA,
        ),
        Table(
            "gold.trend_alert_checks",
            "Each trend alert's value over each whole interval checked, and whether it fired.",
            schema=TREND_ALERT_CHECKS_SCHEMA,
        ),
        Table(
            "gold.trend_alert_deliveries",
            "Each trend alert's firing and resolution sent to each webhook: status, tries, "
            "last error (the dead letters are `dead`).",
            schema=TREND_ALERT_DELIVERIES_SCHEMA,
        ),
    )


def alert_tables_of(table: Callable[[str], str]) -> AlertTables:
    """The trend alert tables by their full names (`table`: the product context's `table`)."""
    return AlertTables(
        rules=table("gold.trend_alerts"),
        checks=table("gold.trend_alert_checks"),
        deliveries=table("gold.trend_alert_deliveries"),
    )
