"""What mobile-user-analytics keeps: the tables no model writes, and how long tables are kept.

The silver and gold tables its models write are described by the models' headers (description,
columns, PII tags); bronze tables hold the canonical event envelope. A user, in every table, is the
signed-in user_id, or the install's anonymous_id for events sent before sign-in.
"""

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
from dataplatform.core.insights import (
    COHORTS_SCHEMA,
    TREND_ALERT_CHECKS_SCHEMA,
    TREND_ALERT_DELIVERIES_SCHEMA,
    TREND_ALERTS_SCHEMA,
)
from dataplatform.core.product import Table

TABLES = (
    Table(
        "bronze.app_events",
        "App events as received, in the canonical envelope; append-only, exactly-once.",
        schema=ENVELOPE_SCHEMA,
        pii=ENVELOPE_PII,
        retention_days=395,
    ),
    Table(
        "gold.cohorts",
        "Cohorts saved through POST /mobile/insights/cohorts: name, criteria, who saved them.",
        schema=COHORTS_SCHEMA,
    ),
    Table(
        "gold.trend_alerts",
        "Trend alerts created through POST /mobile/insights/alerts: the trend, its threshold, "
        "where the news goes, and until when it is snoozed.",
        schema=TREND_ALERTS_SCHEMA,
    ),
    Table(
        "gold.trend_alert_checks",
        "Each trend alert's value over each whole interval checked, and whether it fired.",
        schema=TREND_ALERT_CHECKS_SCHEMA,
    ),
    Table(
        "gold.trend_alert_deliveries",
        "Each trend alert's firing and resolution sent to each webhook: status, tries, last "
        "error (the dead letters are `dead`).",
        schema=TREND_ALERT_DELIVERIES_SCHEMA,
    ),
)

# Events, sessions and identities are kept 13 months, as the app events they come from.
MODEL_RETENTION_DAYS = {
    table: 395 for table in ("silver.app_events", "silver.sessions", "gold.identity_links")
}
