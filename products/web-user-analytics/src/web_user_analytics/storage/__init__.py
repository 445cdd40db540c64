"""What web-user-analytics keeps: the tables no model writes, and how long tables are kept.

The silver and gold tables its models write are described by the models' headers (description,
columns, PII tags); bronze tables hold the canonical event envelope. gold.funnel_definitions is
written by the API itself (`POST /web/funnels`).
"""

import pyarrow as pa

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
from dataplatform.core.insights import insights_tables
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
        FUNNEL_DEFINITIONS,
        "Funnels created through POST /web/funnels: name, ordered steps, conversion window.",
        schema=FUNNEL_DEFINITIONS_SCHEMA,
    ),
    *insights_tables("/web"),
)

# Visits, people and their identities are kept 13 months, as the clickstream they come from.
MODEL_RETENTION_DAYS = {
    table: 395
    for table in (
        "silver.page_views",
        "silver.identities",
        "silver.session_state",
        "gold.session_events",
        "gold.sessions",
        "gold.visitors_last_seen",
        "gold.identity_links",
    )
}
