"""ref_touched() and this_touched(): a tick reads the rows of the keys its new rows hold."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from shop_models import BRONZE, BRONZE_SCHEMA, SHOP, RecordingEngine, sorted_rows, write_models

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    ModelDefinitionError,
    ModelRunner,
    build_graph,
    column_lineage,
    load_sql_model,
    load_sql_models,
)

VIEWS = f"{SHOP}.silver.views"
TOTALS = f"{SHOP}.gold.user_totals"
USER_DAYS = f"{SHOP}.gold.user_days"
RUNNING = f"{SHOP}.gold.running_totals"
TOUCHED_VIEWS = "shop__silver__views__touched__user_id"  # the view ref_touched() reads
TOUCHED_TOTALS = "shop__gold__running_totals__touched__user_id"  # this_touched()'s
FIRST_DAY = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 10
USERS = 40
SILVER = """
    /* ---
    name: silver.views
    materialized: append
    time_column: timestamp
    partition_by: [day]
    description: Shop events, partitioned by their UTC day.
    --- */
    select event_id, user_id, event, amount, timestamp from ref('bronze.events')
    """
MODELS = {
    "silver_views.sql": SILVER,
    "gold_user_totals.sql": """
        /* ---
        name: gold.user_totals
        materialized: merge
        unique_key: [user_id]
        description: Per user, every event so far, recomputed for the users new events touch.
        --- */
        select user_id, count(*) as events, sum(amount) as revenue, max(timestamp) as last_seen
        from ref_touched('silver.views', 'user_id')
        group by user_id
        """,
    "gold_user_days.sql": """
        /* ---
        name: gold.user_days
        materialized: merge
        unique_key: [user_id, day]
        description: Events per user and UTC day, recomputed for the user-days new events touch.
        --- */
        with touched as (select distinct user_id, day from ref('silver.views'))
        select v.user_id, v.day, count(*) as events
        from ref_touched('silver.views', 'user_id', '1 day') as v
        join touched as t on t.user_id = v.user_id and t.day = v.day
        group by all
        """,
    "gold_running_totals.sql": """
        /* ---
        name: gold.running_totals
        materialized: merge
        unique_key: [user_id]
        description: Per user, events so far; each batch added to the touched users totals.
        columns:
          user_id: {type: varchar}
          events: {type: bigint}
        --- */
        with batch as (select user_id, count(*) as events from ref('silver.views') group by 1)
        select b.user_id, b.events + coalesce(t.events, 0) as events
        from batch as b left join this_touched('user_id') as t on t.user_id = b.user_id
        """,
}


def views(*rows: tuple[str, str, float, datetime]) -> pa.Table:
    """Bronze rows from (event_id, user_id, amount, time)."""
    return pa.table(
        {
            "event_id": [row[0] for row in rows],
            "user_id": [row[1] for row in rows],
            "event": ["view"] * len(rows),
            "amount": [row[2] for row in rows],
            "timestamp": [row[3] for row in rows],
        },
        schema=BRONZE_SCHEMA,
    )


def history() -> pa.Table:
    """Each of USERS users views once a day at a different hour, for DAYS days."""
    return views(
        *(
            (f"h{day}-{user}", f"u{user}", 1.0, FIRST_DAY + timedelta(days=day, hours=user % 24))
            for day in range(DAYS)
            for user in range(USERS)
        )
    )


def runner_over(
    folder: Path, lake: Lakehouse, store: MetadataStore, engine: RecordingEngine | None = None
) -> ModelRunner:
    graph = build_graph(SHOP, load_sql_models(folder), ["bronze.events"])
    return ModelRunner(graph, lake, store, engine)


def new_store(url: str) -> MetadataStore:
    store = MetadataStore(url)
    store.upgrade()
    return store


def run_ok(runner: ModelRunner, **options: bool) -> None:
    results = runner.run(**options)
    assert all(r.status in ("succeeded", "up_to_date") for r in results), results


def history_then_tick(
    runner: ModelRunner, lake: Lakehouse, engine: RecordingEngine, new_views: pa.Table
) -> None:
    """A full run over history(), then a tick over `new_views`, whose reads `engine` keeps."""
    lake.append(BRONZE, history())
    run_ok(runner)
    lake.append(BRONZE, new_views)
    engine.relations.clear()
    run_ok(runner)


# delta-rs's merge writes strings as `string_view`, which pyarrow's filters trip on.
MERGED_SILVER = SILVER.replace(
    "materialized: append", "materialized: merge\n    unique_key: [event_id]"
)


@pytest.mark.parametrize("silver", [SILVER, MERGED_SILVER], ids=["appended", "merged"])
def test_a_tick_reads_only_the_rows_of_the_keys_its_new_rows_touch(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore, silver: str
) -> None:
    engine = RecordingEngine()
    models = {**MODELS, "silver_views.sql": silver}
    runner = runner_over(write_models(tmp_path / "m", models), lake, sqlite_store, engine)
    last_day = FIRST_DAY + timedelta(days=DAYS - 1)
    new_views = views(
        ("n1", "u3", 5.0, last_day + timedelta(hours=23)), ("n2", "u7", 2.0, last_day)
    )

    history_then_tick(runner, lake, engine, new_views)

    # In run order: gold.user_days (a day's lookback), then gold.user_totals (no lookback).
    lookback, every_day = [
        reads[TOUCHED_VIEWS].data for reads in engine.relations if TOUCHED_VIEWS in reads
    ]
    assert isinstance(every_day, pa.Table)
    assert sorted(set(every_day["user_id"].to_pylist())) == ["u3", "u7"]
    assert every_day.num_rows == 2 * DAYS + 2  # their whole history and the new views
    # From a day before the earliest new view (last day, 00:00): their last two days only.
    assert sorted(set(lookback["user_id"].to_pylist())) == ["u3", "u7"]
    assert lookback.num_rows == 2 * 2 + 2
    totals = {row["user_id"]: row for row in lake.read(TOTALS).to_pylist()}
    assert len(totals) == USERS
    assert (totals["u3"]["events"], totals["u3"]["revenue"]) == (DAYS + 1, DAYS + 5.0)
    assert totals["u3"]["last_seen"] == last_day + timedelta(hours=23)
    assert totals["u1"]["events"] == DAYS  # untouched, unchanged
    (own,) = [reads[TOUCHED_TOTALS] for reads in engine.relations if TOUCHED_TOTALS in reads]
    assert sorted(own.data["user_id"].to_pylist()) == ["u3", "u7"]  # this_touched(): 2 of 40
    running = {row["user_id"]: row["events"] for row in lake.read(RUNNING).to_pylist()}
    assert running["u3"] == running["u7"] == DAYS + 1


def test_a_key_whose_rows_are_in_partitions_before_the_lookback_is_not_read(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    only_lookback = {name: MODELS[name] for name in ("silver_views.sql", "gold_user_days.sql")}
    engine = RecordingEngine()
    runner = runner_over(write_models(tmp_path / "m", only_lookback), lake, sqlite_store, engine)
    # No file statistics of `timestamp`: only the `day` partitions can keep old days unread.
    lake.create(
        VIEWS,
        pa.schema([*BRONZE_SCHEMA, pa.field("day", pa.date32())]),
        partition_by=["day"],
        properties={"delta.dataSkippingStatsColumns": "event_id"},
    )
    lake.append(BRONZE, history())
    run_ok(runner)
    last_day = FIRST_DAY + timedelta(days=DAYS - 1)
    in_lookback = [f"day={(last_day - timedelta(days=back)).date()}" for back in (0, 1)]
    for path in lake.table(VIEWS).file_uris():  # older days' files: reading one would fail
        if not any(day in path for day in in_lookback):
            Path(path.removeprefix("file://")).write_bytes(b"not parquet")
    # u3 viewed at 03:00 every day; its new view at 20:00 looks back to 20:00 the day before.
    lake.append(BRONZE, views(("n1", "u3", 1.0, last_day + timedelta(hours=20))))
    engine.relations.clear()

    run_ok(runner)

    (touched,) = [reads[TOUCHED_VIEWS] for reads in engine.relations if TOUCHED_VIEWS in reads]
    assert touched.data["user_id"].to_pylist() == ["u3", "u3"]
    assert set(touched.data["day"].to_pylist()) == {last_day.date()}
    user_days = {(r["user_id"], r["day"]): r["events"] for r in lake.read(USER_DAYS).to_pylist()}
    assert user_days[("u3", last_day.date())] == 2


# Each view, and a row per user with no time (a fact that holds on every day); the union with
# this_touched() only makes the runner read it, which the recording engine keeps.
USER_STATE = """
    /* ---
    name: gold.user_state
    materialized: merge
    unique_key: [row_key]
    description: Views and users, reading back its rows of the touched users.
    columns:
      row_key: {type: varchar}
      user_id: {type: varchar}
      timestamp: {type: timestamptz}
    --- */
    select 'view ' || event_id as row_key, user_id, timestamp from ref('silver.views')
    union all
    select distinct 'user ' || user_id, user_id, null::timestamptz from ref('silver.views')
    union all
    select row_key, user_id, timestamp from this_touched('user_id'SCOPE) where false
    """
BIG_SPENDS = """
    /* ---
    name: silver.big_spends
    materialized: append
    description: Views of more than 3.
    --- */
    select user_id, amount from ref('silver.views') where amount > 3
    """
TOUCHED_STATE = "shop__gold__user_state__touched__user_id"


def test_this_touched_with_a_lookback_reads_the_keys_rows_since_then_and_their_timeless_rows(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    models = {
        "silver_views.sql": SILVER,
        "gold_user_state.sql": USER_STATE.replace("SCOPE", ", '1 day'"),
    }
    engine = RecordingEngine()
    runner = runner_over(write_models(tmp_path / "m", models), lake, sqlite_store, engine)
    last_day = FIRST_DAY + timedelta(days=DAYS - 1)
    new_views = views(
        ("n1", "u3", 1.0, last_day + timedelta(hours=23)), ("n2", "u7", 1.0, last_day)
    )

    history_then_tick(runner, lake, engine, new_views)

    (read,) = [reads[TOUCHED_STATE].data for reads in engine.relations if TOUCHED_STATE in reads]
    # From a day before the earliest new view (last day, 00:00): their last two days' views,
    # and each user's row, which has no time.
    assert sorted(read["row_key"].to_pylist()) == sorted(
        [f"view h{day}-{user}" for day in (DAYS - 2, DAYS - 1) for user in (3, 7)]
        + ["user u3", "user u7"]
    )


def test_this_touched_from_one_input_takes_the_keys_of_that_input_only(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    state = USER_STATE.replace("SCOPE", ", 'silver.big_spends'").replace(
        "where false", "where false and user_id in (select user_id from ref('silver.big_spends'))"
    )
    models = {
        "silver_views.sql": SILVER,
        "silver_big_spends.sql": BIG_SPENDS,
        "gold_user_state.sql": state,
    }
    engine = RecordingEngine()
    runner = runner_over(write_models(tmp_path / "m", models), lake, sqlite_store, engine)
    new_views = views(("n1", "u3", 5.0, FIRST_DAY), ("n2", "u7", 2.0, FIRST_DAY))

    history_then_tick(runner, lake, engine, new_views)

    (read,) = [reads[TOUCHED_STATE].data for reads in engine.relations if TOUCHED_STATE in reads]
    # u7's view is new in silver.views but not a big spend: only u3's rows are read, all days.
    assert set(read["user_id"].to_pylist()) == {"u3"}
    assert read.num_rows == DAYS + 1


def test_a_key_whose_row_moved_to_another_key_is_touched_by_the_row_it_lost(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    models = {
        "silver_views.sql": MERGED_SILVER,
        "gold_user_totals.sql": MODELS["gold_user_totals.sql"],
    }
    runner = runner_over(write_models(tmp_path / "m", models), lake, sqlite_store)
    lake.append(BRONZE, history())
    run_ok(runner)
    # u1's first view, sent again as u2's (a corrected event): silver updates the row in place,
    # so u1 is only in the change feed's old version of it.
    lake.append(BRONZE, views(("h0-1", "u2", 1.0, FIRST_DAY + timedelta(hours=1))))

    run_ok(runner)

    totals = {row["user_id"]: row["events"] for row in lake.read(TOTALS).to_pylist()}
    assert (totals["u1"], totals["u2"]) == (DAYS - 1, DAYS + 1)
    assert totals["u3"] == DAYS


def test_touched_keys_of_a_partition_column_open_only_their_partitions(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    daily = """
        /* ---
        name: gold.daily
        materialized: merge
        unique_key: [day]
        description: Per UTC day, views and viewers, recomputed for the days new views touch.
        --- */
        select day, count(*) as views, count(distinct user_id) as users
        from ref_touched('silver.views', 'day')
        group by day
        """
    models = {"silver_views.sql": SILVER, "gold_daily.sql": daily}
    runner = runner_over(write_models(tmp_path / "m", models), lake, sqlite_store)
    lake.append(BRONZE, history())
    run_ok(runner)
    last_day = FIRST_DAY + timedelta(days=DAYS - 1)
    for path in lake.table(VIEWS).file_uris():  # other days' files: reading one would fail
        if f"day={last_day.date()}" not in path:
            Path(path.removeprefix("file://")).write_bytes(b"not parquet")
    lake.append(BRONZE, views(("n1", "u3", 1.0, last_day + timedelta(hours=20))))

    run_ok(runner)

    days = {
        row["day"]: (row["views"], row["users"])
        for row in lake.read(f"{SHOP}.gold.daily").to_pylist()
    }
    assert days[last_day.date()] == (USERS + 1, USERS)
    assert days[FIRST_DAY.date()] == (USERS, USERS)  # untouched, from the first run


def tick_splits(seed: int) -> list[pa.Table]:
    """A day of views of 6 users split at random into 2..5 ticks, late views included."""
    chooser = random.Random(seed)
    start = FIRST_DAY + timedelta(days=3)
    rows = [
        (f"e{index}", f"u{chooser.randrange(6)}", float(chooser.randrange(5)), moment)
        for index in range(40)
        # Late views: up to three days before the day, arriving among the day's own.
        for moment in [start + timedelta(minutes=chooser.randrange(-3 * 24 * 60, 24 * 60))]
    ]
    cuts = sorted(chooser.sample(range(1, len(rows)), chooser.randrange(1, 5)))
    return [views(*rows[a:b]) for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


@pytest.mark.parametrize("seed", range(5))
def test_any_sequence_of_ticks_gives_the_tables_of_a_full_run(
    tmp_path: Path, lake: Lakehouse, seed: int
) -> None:
    folder = write_models(tmp_path / "m", MODELS)
    ticked = runner_over(folder, lake, new_store(f"sqlite:///{tmp_path / 'ticks.db'}"))
    for batch in tick_splits(seed):
        lake.append(BRONZE, batch)
        run_ok(ticked)
    rebuilt_lake = Lakehouse(tmp_path / "rebuilt")
    rebuilt_lake.append(BRONZE, pa.concat_tables(tick_splits(seed)))

    run_ok(
        runner_over(folder, rebuilt_lake, new_store(f"sqlite:///{tmp_path / 'full.db'}")),
        full_refresh=True,
    )

    for table, keys in ((TOTALS, ["user_id"]), (USER_DAYS, ["user_id", "day"])):
        ticks, full = lake.read(table), rebuilt_lake.read(table)
        assert sorted_rows(ticks, *keys) == sorted_rows(full, *keys), table
    assert sorted_rows(lake.read(RUNNING), "user_id") == sorted_rows(
        rebuilt_lake.read(RUNNING), "user_id"
    )


def test_a_key_column_the_input_lacks_fails_the_run_naming_it(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    misspelt = {
        "silver_views.sql": SILVER,
        "gold_user_totals.sql": MODELS["gold_user_totals.sql"].replace(
            "'silver.views', 'user_id'", "'silver.views', 'userid'"
        ),
    }
    runner = runner_over(write_models(tmp_path / "m", misspelt), lake, sqlite_store)
    lake.append(BRONZE, history())
    run_ok(runner)
    lake.append(BRONZE, views(("n1", "u3", 1.0, FIRST_DAY)))

    results = {result.model: result for result in runner.run()}

    assert results[TOTALS].status == "failed"
    assert "ref_touched('silver.views', 'userid')" in str(results[TOTALS].error)
    assert "no column `userid`" in str(results[TOTALS].error)
    assert "Did you mean `user_id`?" in str(results[TOTALS].error)


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        ("ref_touched('silver.views')", "ref_touched() takes quoted arguments: write"),
        ("ref_touched(silver.views, user_id)", "ref_touched() takes quoted arguments"),
        ("this_touched(user_id)", "this_touched() takes quoted arguments: write"),
        ("ref_touched('silver.views', 'user id')", "key column `user id` must be one column"),
        ("ref_touched('silver.views', 'user_id', '2 fortnights')", "interval `2 fortnights`"),
        ("ref_touched('views', 'user_id')", "must name `<layer>.<table>`"),
        (
            "this_touched('user_id', 'silver.nowhere')",
            "second argument `silver.nowhere` must be a lookback ('2 days') or one of the "
            "model's ref() inputs to take the keys from (silver.views)",
        ),
        (
            "this_touched('user_id') union all select * from this_touched('user_id', '1 day')",
            "this_touched('user_id') is called with different arguments",
        ),
    ],
)
def test_a_malformed_call_is_refused_with_its_line(tmp_path: Path, call: str, refusal: str) -> None:
    path = tmp_path / "gold_touched.sql"
    path.write_text(
        "/* ---\nname: gold.touched\nmaterialized: merge\nunique_key: [user_id]\n"
        "description: Touched.\ncolumns:\n  user_id: {type: varchar}\n--- */\n"
        f"select user_id from ref('silver.views')\nunion all select * from {call}\n"
    )

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_model(path)

    assert refusal in str(error.value)
    assert "gold_touched.sql:10:" in str(error.value)


def test_an_unknown_input_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    typo = {"gold_user_totals.sql": MODELS["gold_user_totals.sql"].replace("views", "veiws")}
    models = load_sql_models(write_models(tmp_path / "m", {"silver_views.sql": SILVER, **typo}))

    with pytest.raises(ModelDefinitionError) as error:
        build_graph(SHOP, models, ["bronze.events"])

    assert "ref('silver.veiws') names no model or table of `shop`" in str(error.value)
    assert "Did you mean `silver.views`?" in str(error.value)


def test_this_touched_needs_typed_columns_like_this(tmp_path: Path) -> None:
    untyped = MODELS["gold_running_totals.sql"].replace("{type: bigint}", "{}")
    path = write_models(tmp_path / "m", {"gold_running_totals.sql": untyped})

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_model(path / "gold_running_totals.sql")

    assert "must give every output column a `type`" in str(error.value)
    assert "untyped: ['events']" in str(error.value)


def test_lineage_sees_through_ref_touched(tmp_path: Path) -> None:
    model = load_sql_model(
        write_models(tmp_path / "m", MODELS) / "gold_user_days.sql",
    )
    schemas = {
        VIEWS: {"user_id": "varchar", "day": "date", "timestamp": "timestamptz"},
    }

    edges = column_lineage(model, SHOP, schemas)

    sources = {(edge.target_column, edge.source_table, edge.source_column) for edge in edges}
    assert ("user_id", VIEWS, "user_id") in sources
    assert ("day", VIEWS, "day") in sources
    assert build_graph(SHOP, load_sql_models(tmp_path / "m"), ["bronze.events"]).inputs[
        USER_DAYS
    ] == (VIEWS,)
