"""What web-user-analytics keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them; bronze tables hold the
canonical event envelope.
"""

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
from dataplatform.core.product import Table

TABLES = (
    Table(
        "bronze.clickstream",
        "Web events as received, in the canonical envelope; append-only, exactly-once.",
        schema=ENVELOPE_SCHEMA,
        pii=ENVELOPE_PII,
        retention_days=395,
    ),
    Table(
        "silver.page_views",
        "Typed page views and clicks deduplicated on event_id, with parsed URL, referrer and user agent.",
        pii=("user_id", "anonymous_id", "ip"),
        retention_days=395,
    ),
    Table(
        "silver.sessions",
        "Web sessions split by inactivity, midnight and campaign change, with engagement and bounce.",
        pii=("user_id", "anonymous_id"),
        retention_days=395,
    ),
    Table(
        "gold.pages",
        "Per page: views, visitors, average time on page, exits.",
    ),
    Table(
        "gold.sources",
        "Traffic by source class (direct, search, social, email, paid, referral) and campaign.",
    ),
    Table(
        "gold.devices",
        "Traffic by browser, OS and device type.",
    ),
    Table(
        "gold.daily_overview",
        "Per day: visitors, sessions, bounce rate.",
    ),
    Table(
        "gold.funnel_results",
        "Per funnel and date range: per-step counts, conversion and drop-off.",
    ),
)
