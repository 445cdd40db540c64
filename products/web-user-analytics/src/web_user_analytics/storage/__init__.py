"""What web-user-analytics keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them (their headers describe
the columns); bronze tables hold the canonical event envelope. gold.funnel_definitions is
written by the API itself (`POST /web/funnels`).
"""

import pyarrow as pa

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
from dataplatform.core.product import Table

FUNNEL_DEFINITIONS = "gold.funnel_definitions"
FUNNEL_DEFINITIONS_SCHEMA = pa.schema(
    [
        pa.field("funnel_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("steps", pa.string(), nullable=False),  # JSON: [{"page": ...} | {"event": ...}]
        pa.field("window_days", pa.int32()),
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

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
        "Page views, clicks and other tracked events, typed and deduplicated on event_id "
        "(7 days), with the URL parsed (host, path, query, utm_*), the referrer classified "
        "(direct, search, social, email, paid, referral) and the raw user agent.",
        pii=("visitor_id", "user_id", "anonymous_id", "ip"),
        retention_days=395,
    ),
    Table(
        "silver.user_agents",
        "Each user-agent string once, parsed by ua-parser: browser, OS, device type, known bot.",
    ),
    Table(
        "silver.identities",
        "Which user each anonymous browser id belongs to, from identify calls; latest link wins.",
        pii=("anonymous_id", "user_id"),
        retention_days=395,
    ),
    Table(
        "gold.session_events",
        "Every page view, click and conversion in its session (bots left out by default), with "
        "time on page and entry/exit flags; recomputed from silver on every run.",
        pii=("visitor_id", "user_id", "person_id"),
        retention_days=395,
    ),
    Table(
        "gold.sessions",
        "Web sessions, split after session_timeout_minutes (30) without an event, at midnight "
        "in the reporting timezone and on a campaign change: duration, pages, entry and exit "
        "page, source, device, engaged or bounced; recomputed from silver on every run.",
        pii=("visitor_id", "user_id"),
        retention_days=395,
    ),
    Table(
        "gold.pages",
        "Per day and page: views, visitors, entrances, exits, average time on page.",
    ),
    Table(
        "gold.sources",
        "Per day, traffic source (direct, search, social, email, paid, referral) and campaign: "
        "sessions, visitors, bounce rate, conversions, revenue.",
    ),
    Table(
        "gold.devices",
        "Per day, device type, browser and OS: sessions, visitors, bounce rate, conversions.",
    ),
    Table(
        "gold.daily_overview",
        "Per day: visitors, sessions, page views, bounce rate, session duration, conversions, "
        "revenue.",
    ),
    Table(
        "gold.events",
        "Per day and tracked event name, under the name sent (a customer's own names "
        "included): count, people, conversions, amounts per currency.",
    ),
    Table(
        "gold.visitors_last_seen",
        "Per browser: when and on which page it was last seen (bots left out by default).",
        pii=("visitor_id",),
        retention_days=395,
    ),
    Table(
        FUNNEL_DEFINITIONS,
        "Funnels created through POST /web/funnels: name, ordered steps, conversion window.",
        schema=FUNNEL_DEFINITIONS_SCHEMA,
    ),
    Table(
        "gold.identity_links",
        "Pairs of a user id and an browser's anonymous id seen together, first and last seen: "
        "published for identity stitching (user-segmentation) and erasure (compliance-auditing).",
        pii=("user_id", "anonymous_id"),
        retention_days=395,
    ),
)
