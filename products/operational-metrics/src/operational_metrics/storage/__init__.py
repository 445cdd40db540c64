"""What operational-metrics keeps: besides what its models write, the alerts it delivered and
the silences people set.

Every other table is a model's, described by the model's header (description, columns, tags).
Nothing here is data about the products' users: routes are templates
(`/mobile/users/{user_id}/summary`), never paths with ids. Who set a silence is a person's user
name, tagged PII as the platform's audit log tags it. Times are UTC; per-minute series are keyed
by the minute's start.
"""

import pyarrow as pa

from dataplatform.core.product import Table

ALERT_DELIVERIES = "gold.alert_deliveries"
ALERT_SILENCES = "gold.alert_silences"

_TIME = pa.timestamp("us", tz="UTC")
ALERT_DELIVERIES_SCHEMA = pa.schema(
    [
        pa.field("delivery_id", pa.string(), nullable=False),
        pa.field("incident_id", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),  # opened | resolved
        pa.field("destination", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("slo", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # delivered | failed | silenced | dead
        pa.field("attempts", pa.int64(), nullable=False),
        pa.field("http_status", pa.int64()),
        pa.field("error", pa.string()),
        pa.field("first_attempt_at", _TIME, nullable=False),
        pa.field("last_attempt_at", _TIME, nullable=False),
        pa.field("delivered_at", _TIME),
    ]
)
ALERT_SILENCES_SCHEMA = pa.schema(
    [
        pa.field("silence_id", pa.string(), nullable=False),
        pa.field("product", pa.string()),  # null: every product
        pa.field("slo", pa.string()),  # null: every SLO
        pa.field("starts_at", _TIME, nullable=False),
        pa.field("ends_at", _TIME, nullable=False),
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("comment", pa.string(), nullable=False),
    ]
)

TABLES: tuple[Table, ...] = (
    Table(
        ALERT_DELIVERIES,
        "Each incident's opening and resolution sent to each alert webhook: status (delivered, "
        "failed and tried again, silenced, or dead after the last try), tries, the last answer.",
        schema=ALERT_DELIVERIES_SCHEMA,
        retention_days=90,
    ),
    Table(
        ALERT_SILENCES,
        "Silences: while one covers an incident's product and SLO, its alerts are recorded as "
        "silenced and not sent.",
        schema=ALERT_SILENCES_SCHEMA,
        pii=("created_by",),
        retention_days=365,
    ),
)
