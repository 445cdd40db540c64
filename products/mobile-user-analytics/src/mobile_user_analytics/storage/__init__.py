"""What mobile-user-analytics keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them; bronze tables hold the
canonical event envelope.
"""

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
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
        "silver.app_events",
        "Typed app events deduplicated on event_id, with device, OS, app version and platform.",
        pii=("user_id", "device_id"),
        retention_days=395,
    ),
    Table(
        "silver.sessions",
        "App sessions: the SDK's session id, else 30 minutes of inactivity per user and device.",
        pii=("user_id",),
        retention_days=395,
    ),
    Table(
        "gold.activity_1m",
        "1-minute windows per platform and app version: events by type, active users, crashes.",
    ),
    Table(
        "gold.user_summary",
        "Per user: first and last seen, sessions, events, platforms, versions, purchases, revenue.",
        pii=("user_id",),
    ),
    Table(
        "gold.active_users",
        "DAU, WAU and MAU: distinct users over trailing 1, 7 and 30 days.",
    ),
    Table(
        "gold.retention",
        "Retention cohorts by first-seen day, with day 1, 7, 14 and 30 retention.",
    ),
    Table(
        "gold.crashes_by_version",
        "Crash-free users and crash-free sessions by app version.",
    ),
)
