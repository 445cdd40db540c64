"""What mobile-user-analytics keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them (their headers describe
every column); bronze tables hold the canonical event envelope. A user, in every table, is the
signed-in user_id, or the install's anonymous_id for events sent before sign-in.
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
        "Typed app events, each event_id once within 7 days, with device, OS, app version, "
        "platform, the role its name plays (setting event_roles), revenue and currency.",
        pii=("user_id", "anonymous_id", "device_id"),
        retention_days=395,
    ),
    Table(
        "silver.sessions",
        "App sessions of a user on a device: the SDK's session id, else a new one after 30 "
        "minutes without events.",
        pii=("user_id", "device_id"),
        retention_days=395,
    ),
    Table(
        "gold.activity_1m",
        "1-minute windows per platform and app version (and `*` totals): events by type, "
        "active users, crashes.",
    ),
    Table(
        "gold.activity_1h",
        "1-hour windows per platform and app version (and `*` totals): events by type, "
        "active users, crashes.",
    ),
    Table(
        "gold.activity_1d",
        "1-day windows per platform and app version (and `*` totals): events by type, "
        "active users, crashes.",
    ),
    Table(
        "gold.user_summary",
        "Per user: first and last seen, sessions, events, platforms, app versions, purchases, "
        "revenue per currency, last event.",
        pii=("user_id",),
    ),
    Table(
        "gold.user_days",
        "Per user, UTC day and platform: sessions started, events, screen views per screen, "
        "purchases and revenue per currency.",
        pii=("user_id",),
    ),
    Table(
        "gold.events",
        "Per UTC day and track event name, under the name sent (an app's own names included): "
        "count, users, the role it counts as, amounts per currency.",
    ),
    Table(
        "gold.active_users",
        "DAU, WAU and MAU per UTC day: distinct users over the trailing 1, 7 and 30 days.",
    ),
    Table(
        "gold.retention",
        "Retention cohorts by first-seen day: users of each cohort active exactly N days later.",
    ),
    Table(
        "gold.app_versions",
        "Per app version and platform: first and last seen, users, sessions, crashes, "
        "crash-free users and crash-free sessions.",
    ),
    Table(
        "gold.identity_links",
        "Pairs of a user id and an install's anonymous id seen together, first and last seen: "
        "published for identity stitching (user-segmentation) and erasure (compliance-auditing).",
        pii=("user_id", "anonymous_id"),
        retention_days=395,
    ),
)
