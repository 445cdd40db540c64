"""A small shop product for runner tests: bronze events, a deduplicating silver model, and two
gold aggregates that add each batch to what `this()` already holds."""

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from dataplatform.core.processing import (
    DuckDBEngine,
    ModelGraph,
    Relation,
    build_graph,
    load_sql_models,
)

SHOP = "shop"
BRONZE = f"{SHOP}.bronze.events"
EVENTS = f"{SHOP}.silver.events"
SUMMARY = f"{SHOP}.gold.user_summary"
MINUTES = f"{SHOP}.gold.minute_activity"
MINUTE_USERS = f"{SHOP}.gold.minute_users"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BRONZE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("amount", pa.float64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
    ]
)

MODELS = {
    "silver_events.sql": """
        /* ---
        name: silver.events
        materialized: append
        time_column: timestamp
        description: Shop events, each event_id once.
        columns:
          event_id: {type: varchar, description: The SDK's message id.}
          user_id: {type: varchar, tags: [pii]}
          event: {type: varchar}
          amount: {type: double}
          timestamp: {type: timestamptz}
        checks:
          - {check: not_null, column: user_id}
          - {check: range, column: amount, min: 0, severity: warn}
        --- */
        select event_id, user_id, event, amount, timestamp
        from ref('bronze.events')
        where event_id not in (select event_id from this_since('7 days'))
        qualify row_number() over (partition by event_id order by timestamp) = 1
        """,
    "gold_user_summary.sql": """
        /* ---
        name: gold.user_summary
        materialized: merge
        unique_key: [user_id]
        description: Per user, what they did so far.
        columns:
          user_id: {type: varchar, tags: [pii]}
          events: {type: bigint}
          revenue: {type: double}
          first_seen: {type: timestamptz}
          last_seen: {type: timestamptz}
        --- */
        with batch as (
            select user_id, count(*) as events, sum(amount) as revenue,
                   min(timestamp) as first_seen, max(timestamp) as last_seen
            from ref('silver.events')
            group by user_id
        )
        select b.user_id,
               b.events + coalesce(t.events, 0) as events,
               b.revenue + coalesce(t.revenue, 0) as revenue,
               least(b.first_seen, coalesce(t.first_seen, b.first_seen)) as first_seen,
               greatest(b.last_seen, coalesce(t.last_seen, b.last_seen)) as last_seen
        from batch as b
        left join this() as t on t.user_id = b.user_id
        """,
    "gold_minute_users.sql": """
        /* ---
        name: gold.minute_users
        materialized: merge
        unique_key: [minute]
        time_column: minute
        description: Distinct users per minute, recomputed for the minutes new events touch.
        --- */
        with touched as (
            select distinct date_trunc('minute', timestamp) as minute from ref('silver.events')
        )
        select date_trunc('minute', e.timestamp) as minute, count(distinct e.user_id) as users
        from ref_since('silver.events', '1 minute') as e
        where date_trunc('minute', e.timestamp) in (select minute from touched)
        group by 1
        """,
    "gold_minute_activity.sql": """
        /* ---
        name: gold.minute_activity
        materialized: merge
        unique_key: [minute, event]
        time_column: minute
        description: Events per minute and event name.
        columns:
          minute: {type: timestamptz}
          event: {type: varchar}
          events: {type: bigint}
        --- */
        with batch as (
            select date_trunc('minute', timestamp) as minute, event, count(*) as events
            from ref('silver.events')
            group by all
        )
        select b.minute, b.event, b.events + coalesce(t.events, 0) as events
        from batch as b
        left join this() as t on t.minute = b.minute and t.event = b.event
        """,
}


def write_models(folder: Path, models: dict[str, str] = MODELS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in models.items():
        (folder / file_name).write_text(textwrap.dedent(text).lstrip())
    return folder


def shop_graph(folder: Path) -> ModelGraph:
    return build_graph(SHOP, load_sql_models(folder), ["bronze.events"])


def events(*rows: tuple[str, str | None, str, float, int]) -> pa.Table:
    """Bronze rows from (event_id, user_id, event, amount, seconds after START)."""
    return pa.table(
        {
            "event_id": [row[0] for row in rows],
            "user_id": [row[1] for row in rows],
            "event": [row[2] for row in rows],
            "amount": [row[3] for row in rows],
            "timestamp": [START + timedelta(seconds=row[4]) for row in rows],
        },
        schema=BRONZE_SCHEMA,
    )


def sorted_rows(table: pa.Table, *keys: str) -> list[dict[str, object]]:
    return table.sort_by([(key, "ascending") for key in keys]).to_pylist()


FIRST = events(
    ("e1", "u1", "buy", 5.0, 0),
    ("e2", "u1", "view", 0.0, 30),
    ("e2", "u1", "view", 0.0, 30),  # the SDK retried
    ("e3", "u2", "buy", 7.0, 70),
)
SECOND = events(
    ("e2", "u1", "view", 0.0, 30),  # a retry arriving a batch later
    ("e4", "u2", "buy", 1.0, 75),
    ("e5", "u3", "view", 0.0, 3600),
    ("e11", "u3", "view", 0.0, 20),  # late: a minute the first run already counted
)


class RecordingEngine(DuckDBEngine):
    """DuckDB, keeping what each query was given to read."""

    def __init__(self) -> None:
        super().__init__()
        self.relations: list[Mapping[str, Relation]] = []

    def execute(self, sql: str, relations: Mapping[str, Relation]) -> pa.Table:
        self.relations.append(dict(relations))
        return super().execute(sql, relations)


def files_scanned(relation: Relation) -> set[str]:
    """The parquet files a scan of `relation` opens: its filter prunes the others unread."""
    assert not isinstance(relation.data, pa.Table)
    return {batch.fragment.path for batch in relation.data.scanner().scan_batches()}
