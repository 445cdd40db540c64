"""Tables partitioned by `day`, derived from the time column: lookbacks read only their days."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from shop_models import (
    BRONZE,
    BRONZE_SCHEMA,
    SHOP,
    RecordingEngine,
    files_scanned,
    write_models,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    ModelDefinitionError,
    ModelRunner,
    build_graph,
    load_sql_model,
    load_sql_models,
)

VIEWS = f"{SHOP}.silver.views"
HOURLY = f"{SHOP}.gold.hourly_users"
DAYS = 10
FIRST_DAY = datetime(2026, 11, 1, tzinfo=UTC)
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
VIEWS_SINCE = "shop__silver__views__since"  # the view ref_since('silver.views', ...) reads
MODELS = {
    "silver_views.sql": """
        /* ---
        name: silver.views
        materialized: append
        time_column: timestamp
        partition_by: [day]
        description: Shop events, partitioned by their UTC day (which the runner adds).
        --- */
        select event_id, user_id, event, amount, timestamp from ref('bronze.events')
        """,
    "gold_hourly_users.sql": """
        /* ---
        name: gold.hourly_users
        materialized: merge
        unique_key: [hour]
        time_column: hour
        description: Distinct users per hour, recomputed for the hours new events touch.
        --- */
        with touched as (
            select distinct date_trunc('hour', timestamp) as hour from ref('silver.views')
        )
        select date_trunc('hour', v.timestamp) as hour, count(distinct v.user_id) as users
        from ref_since('silver.views', '1 hour') as v
        where date_trunc('hour', v.timestamp) in (select hour from touched)
        group by 1
        """,
}


def history() -> pa.Table:
    """Three events a day (01:00, 12:00 and 20:00 UTC) for DAYS days, by different users."""
    moments = [
        FIRST_DAY + timedelta(days=day, hours=hour) for day in range(DAYS) for hour in (1, 12, 20)
    ]
    return pa.table(
        {
            "event_id": [f"e{index}" for index in range(len(moments))],
            "user_id": [f"u{index}" for index in range(len(moments))],
            "event": ["view"] * len(moments),
            "amount": [0.0] * len(moments),
            "timestamp": moments,
        },
        schema=BRONZE_SCHEMA,
    )


def test_a_lookback_reads_only_the_partitions_of_its_days(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    engine = RecordingEngine()
    graph = build_graph(
        SHOP, load_sql_models(write_models(tmp_path / "m", MODELS)), ["bronze.events"]
    )
    runner = ModelRunner(graph, lake, sqlite_store, engine)
    # The files keep no statistics of `timestamp`: only the partitions can prune a lookback.
    lake.create(
        VIEWS,
        pa.schema([*BRONZE_SCHEMA, pa.field("day", pa.date32())]),
        partition_by=["day"],
        properties={"delta.dataSkippingStatsColumns": "event_id"},
    )
    lake.append(BRONZE, history())
    runner.run()
    late_view = LAST_DAY + timedelta(hours=12, minutes=30)
    lake.append(
        BRONZE,
        pa.table(
            {
                "event_id": ["late"],
                "user_id": ["u-late"],
                "event": ["view"],
                "amount": [0.0],
                "timestamp": [late_view],
            },
            schema=BRONZE_SCHEMA,
        ),
    )
    engine.relations.clear()

    results = {result.model: result for result in runner.run()}

    assert results[HOURLY].status == "succeeded", results[HOURLY].error
    (lookback,) = [reads[VIEWS_SINCE] for reads in engine.relations if VIEWS_SINCE in reads]
    scanned = files_scanned(lookback)
    assert len(lake.table(VIEWS).file_uris()) == DAYS + 1  # one file a day, and the late one
    assert len(scanned) == 2  # the last day's two files: its history and the late view
    assert all(f"day={LAST_DAY.date()}" in path for path in scanned)
    noon = LAST_DAY + timedelta(hours=12)
    assert {row["hour"]: row["users"] for row in lake.read(HOURLY).to_pylist()}[noon] == 2


def test_the_runner_adds_the_day_of_the_time_column(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    graph = build_graph(
        SHOP, load_sql_models(write_models(tmp_path / "m", MODELS)), ["bronze.events"]
    )
    lake.append(BRONZE, history())

    ModelRunner(graph, lake, sqlite_store).run()

    assert lake.table(VIEWS).metadata().partition_columns == ["day"]
    rows = lake.read(VIEWS).to_pylist()
    assert len(rows) == 3 * DAYS
    assert all(row["day"] == row["timestamp"].astimezone(UTC).date() for row in rows)


def test_a_day_the_query_computes_must_be_the_utc_date_of_the_time_column(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    wrong_day = {
        "silver_views.sql": MODELS["silver_views.sql"].replace(
            "amount, timestamp from", "amount, timestamp, cast(timestamp as date) + 1 as day from"
        )
    }
    graph = build_graph(
        SHOP, load_sql_models(write_models(tmp_path / "m", wrong_day)), ["bronze.events"]
    )
    lake.append(BRONZE, history())

    (result,) = ModelRunner(graph, lake, sqlite_store).run()

    assert result.status == "failed"
    assert "returns `day` 2026-11-02 for `timestamp` 2026-11-01 01:00:00+00:00" in str(result.error)
    assert "leave `day` out of the query" in str(result.error)


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        (
            "time_column: timestamp\npartition_by: [user_id]",
            "cannot relate `user_id` to a time column",
        ),
        ("partition_by: [day]", "cannot relate `day` to a time column"),
    ],
    ids=["a-column-unrelated-to-time", "day-without-a-time-column"],
)
def test_a_partition_the_runner_cannot_relate_to_time_is_refused(
    tmp_path: Path, header: str, refusal: str
) -> None:
    path = tmp_path / "gold_views.sql"
    path.write_text(
        f"/* ---\nname: gold.views\nmaterialized: append\n{header}\n"
        "description: Views.\n--- */\nselect * from ref('bronze.events')\n"
    )

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_model(path)

    assert refusal in str(error.value)
    assert f"gold_views.sql:{header.count(chr(10)) + 4}: header `partition_by`" in str(error.value)


def test_rows_written_before_the_header_partitioned_by_day_stay_in_a_lookback(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    unpartitioned = {
        **MODELS,
        "silver_views.sql": MODELS["silver_views.sql"].replace("[day]", "[]"),
    }
    folder = write_models(tmp_path / "m", unpartitioned)
    lake.append(BRONZE, history())
    ModelRunner(
        build_graph(SHOP, load_sql_models(folder), ["bronze.events"]), lake, sqlite_store
    ).run()
    write_models(folder, MODELS)  # the header now partitions by day: older rows have none
    noon = LAST_DAY + timedelta(hours=12)
    late = (
        history()
        .slice(0, 1)
        .set_column(
            4,
            "timestamp",
            pa.array([noon + timedelta(minutes=30)], BRONZE_SCHEMA.field("timestamp").type),
        )
    )
    lake.append(BRONZE, late.set_column(0, "event_id", pa.array(["late"])))

    runner = ModelRunner(
        build_graph(SHOP, load_sql_models(folder), ["bronze.events"]), lake, sqlite_store
    )
    results = {result.model: result for result in runner.run()}

    assert results[HOURLY].status == "succeeded", results[HOURLY].error
    assert {row["hour"]: row["users"] for row in lake.read(HOURLY).to_pylist()}[noon] == 2


def test_a_full_refresh_lays_out_a_table_its_header_now_partitions(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    """A lake made before a model was partitioned gets the layout from a full refresh; a
    model reading its changes across that commit is told to be refreshed too."""
    folder = write_models(
        tmp_path / "m",
        {**MODELS, "silver_views.sql": MODELS["silver_views.sql"].replace("[day]", "[]")},
    )
    lake.append(BRONZE, history())
    ModelRunner(
        build_graph(SHOP, load_sql_models(folder), ["bronze.events"]), lake, sqlite_store
    ).run()
    assert lake.table(VIEWS).metadata().partition_columns == []
    write_models(folder, MODELS)
    runner = ModelRunner(
        build_graph(SHOP, load_sql_models(folder), ["bronze.events"]), lake, sqlite_store
    )

    (refreshed,) = runner.run(["silver.views"], full_refresh=True)
    (downstream,) = runner.run([HOURLY.removeprefix(f"{SHOP}.")])
    runner.run(full_refresh=True)
    noon = LAST_DAY + timedelta(hours=12)
    late = history().slice(3 * (DAYS - 1) + 1, 1)  # a second user at noon of the last day
    late = late.set_column(0, "event_id", pa.array(["late"]))
    lake.append(BRONZE, late.set_column(1, "user_id", pa.array(["late-user"])))
    results = {result.model: result for result in runner.run()}

    assert refreshed.status == "succeeded", refreshed.error
    assert downstream.status == "failed"
    assert "`shop.silver.views` was laid out anew after version" in str(downstream.error)
    assert "partitioned by ['day'], before by nothing" in str(downstream.error)
    assert "dataplatform models run --full-refresh" in str(downstream.error)
    assert lake.table(VIEWS).metadata().partition_columns == ["day"]
    assert all("day=" in uri for uri in lake.table(VIEWS).file_uris())
    assert lake.read(VIEWS).num_rows == 3 * DAYS + 1
    assert results[HOURLY].status == "succeeded", results[HOURLY].error
    assert {row["hour"]: row["users"] for row in lake.read(HOURLY).to_pylist()}[noon] == 2
