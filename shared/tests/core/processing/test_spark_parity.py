"""The same models on DuckDB and on Spark (local mode) give the same rows, batch after batch."""

import math
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from shop_models import BRONZE, FIRST, MODELS, SECOND, SHOP, events, shop_graph, write_models

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import DuckDBEngine, ModelRunner, SparkEngine
from dataplatform.testing import service_missing

# Windows (lag, running sum, row_number), a join and aggregates, on top of the shop models.
PARITY_MODELS = {
    **MODELS,
    "silver_sessions.sql": """
        /* ---
        name: silver.sessions
        materialized: replace
        description: Sessions split after 30 minutes without events.
        --- */
        with ordered as (
            select user_id, timestamp,
                   case when lag(timestamp) over (partition by user_id order by timestamp) is null
                          or timestamp - lag(timestamp) over (partition by user_id order by timestamp)
                             > interval 30 minutes
                        then 1 else 0 end as starts_session
            from ref('silver.events')
        ),
        numbered as (
            select *, sum(starts_session) over (
                partition by user_id order by timestamp rows between unbounded preceding and current row
            ) as session_number
            from ordered
        )
        select user_id, session_number, min(timestamp) as started_at, max(timestamp) as ended_at,
               count(*) as events
        from numbered
        group by user_id, session_number
        """,
    "gold_user_sessions.sql": """
        /* ---
        name: gold.user_sessions
        materialized: replace
        description: Per user, sessions and revenue, ranked by revenue.
        --- */
        with per_user as (
            select user_id, count(*) as sessions, max(events) as longest_session
            from ref('silver.sessions')
            group by user_id
        )
        select s.user_id, p.sessions, p.longest_session, s.revenue,
               rank() over (order by s.revenue desc) as revenue_rank,
               upper(s.user_id) || '-' || cast(p.sessions as varchar) as label
        from ref('gold.user_summary') as s
        join per_user as p on p.user_id = s.user_id
        """,
    "gold_user_touches.sql": """
        /* ---
        name: gold.user_touches
        materialized: merge
        unique_key: [user_id]
        description: Per user, events recounted when touched, and how many batches touched them.
        columns:
          user_id: {type: varchar}
          events: {type: bigint}
          batches: {type: bigint}
        --- */
        with counted as (
            select user_id, count(*) as events
            from ref_touched('silver.events', 'user_id')
            group by user_id
        )
        select c.user_id, c.events, coalesce(t.batches, 0) + 1 as batches
        from counted as c left join this_touched('user_id') as t on t.user_id = c.user_id
        """,
}
MORE = events(
    ("e8", "u1", "buy", 2.5, 5000),
    ("e9", "u4", "view", 0.0, 5100),
    ("e10", "u1", "view", 0.0, 5200),
)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    if shutil.which("java") is None:
        service_missing("Java 17 is needed for Spark's local mode")
    engine = SparkEngine("local[2]")
    yield engine
    engine.stop()


def comparable(table: pa.Table) -> list[tuple[object, ...]]:
    """Rows sorted, floats rounded: two engines may add doubles in a different order."""
    rows = [
        tuple(
            round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for v in row.values()
        )
        for row in table.to_pylist()
    ]
    return sorted(rows, key=repr)


def test_models_give_the_same_rows_on_duckdb_and_spark(spark: SparkEngine, tmp_path: Path) -> None:
    models = write_models(
        tmp_path / "models", {name: textwrap.dedent(sql) for name, sql in PARITY_MODELS.items()}
    )
    lakes: dict[str, Lakehouse] = {}
    for engine in (DuckDBEngine(), spark):
        lake = Lakehouse(tmp_path / engine.name)
        store = MetadataStore(f"sqlite:///{tmp_path / engine.name}.db")
        store.upgrade()
        runner = ModelRunner(shop_graph(models), lake, store, engine)
        for batch in (FIRST, SECOND, MORE):
            lake.append(BRONZE, batch)
            results = runner.run()
            assert {r.status for r in results} == {"succeeded"}, [r.error for r in results]
        lakes[engine.name] = lake

    outputs = [
        f"{SHOP}.{name}"
        for name in (
            "silver.events",
            "silver.sessions",
            "gold.user_summary",
            "gold.minute_activity",
            "gold.user_sessions",
            "gold.user_touches",
        )
    ]
    for table in outputs:
        duck, sparks = lakes["duckdb"].read(table), lakes["spark"].read(table)
        assert duck.schema.names == sparks.schema.names, table
        assert comparable(duck) == comparable(sparks), table
        assert duck.num_rows > 0
