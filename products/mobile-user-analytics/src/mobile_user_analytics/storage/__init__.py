"""What mobile-user-analytics keeps: the tables no model writes, and how long tables are kept.

The silver and gold tables its models write are described by the models' headers (description,
columns, PII tags); bronze tables hold the canonical event envelope. A user, in every table, is the
signed-in user_id, or the install's anonymous_id for events sent before sign-in.
"""

from dataplatform.core.events import ENVELOPE_PII, ENVELOPE_SCHEMA
from dataplatform.core.insights import insights_tables
from dataplatform.core.product import Table

TABLES = (
    Table(
        "bronze.app_events",
        "App events as received, in the canonical envelope; append-only, exactly-once.",
        schema=ENVELOPE_SCHEMA,
        pii=ENVELOPE_PII,
        retention_days=395,
    ),
    *insights_tables("/mobile"),
)

# Events, sessions and identities are kept 13 months, as the app events they come from.
MODEL_RETENTION_DAYS = {
    table: 395 for table in ("silver.app_events", "silver.sessions", "gold.identity_links")
}
