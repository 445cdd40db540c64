"""Which column dates a table's rows, for retention.

The catalog does not carry a model's `time_column`, so the rule goes by name: the first of
`TIME_COLUMNS` that the table has, as a timestamp or a date. Bronze tables have `timestamp` (the
canonical envelope); sessions `started_at`; per-user summaries `last_seen` (a row expires when
the user was last seen that long ago); identity links `last_linked_at`; the platform's metric
samples, table statistics and model runs `scraped_at`, `observed_at` and `finished_at`; daily
tables `day`. A table with none of them is skipped, and the skip is logged and recorded.
"""

import pyarrow as pa

TIME_COLUMNS = (
    "timestamp",
    "recorded_at",
    "started_at",
    "used_at",
    "linked_at",
    "last_linked_at",
    "scraped_at",
    "observed_at",
    "finished_at",
    "last_seen_at",
    "last_seen",
    "window_start",
    "day",
    "minute",
    "hour",
    "requested_at",
    "run_at",
    "quarantined_at",
    "received_at",
)


def time_column(schema: pa.Schema) -> str | None:
    """The column that dates the rows of a table with `schema`, or None."""
    for name in TIME_COLUMNS:
        if name in schema.names:
            kind = schema.field(name).type
            if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
                return name
    return None
