"""The model runner against real Delta tables and a real metadata store."""

import json
import threading
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from shop_models import (
    BRONZE,
    EVENTS,
    FIRST,
    MINUTE_USERS,
    MINUTES,
    SECOND,
    SHOP,
    START,
    SUMMARY,
    events,
    shop_graph,
    sorted_rows,
    write_models,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.processing import (
    ColumnEdge,
    ModelRunner,
    RunResult,
    build_graph,
    load_sql_models,
    python_model,
    quarantine_table,
)

BOTH_BATCHES = ["e1", "e11", "e2", "e3", "e4", "e5"]  # event ids of FIRST and SECOND, once each


def statuses(results: list) -> dict[str, str]:
    return {result.model: result.status for result in results}


def test_a_second_run_reads_only_what_its_inputs_gained(
    runner: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, FIRST)
    first = {result.model: result for result in runner.run()}
    lake.append(BRONZE, SECOND)
    second = {result.model: result for result in runner.run()}

    assert first[EVENTS].rows_in == 4 and first[EVENTS].rows_out == 3
    assert second[EVENTS].rows_in == 4  # the new bronze rows only, not the table
    assert second[EVENTS].rows_out == 3  # e2 was already published
    assert second[SUMMARY].rows_in == 3  # the three new silver rows
    assert sorted(lake.read(EVENTS)["event_id"].to_pylist()) == BOTH_BATCHES
    run = runner.runs.history(EVENTS, limit=1)[0]
    bronze_version = lake.version(BRONZE)
    assert run.input_versions == {BRONZE: [bronze_version - 1, bronze_version]}
    assert (run.sequence, run.status, run.rows_in, run.rows_out) == (2, "succeeded", 4, 3)


def test_incremental_aggregates_equal_a_full_recompute(
    runner: ModelRunner, lake: Lakehouse, tmp_path: Path, sqlite_url: str
) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    runner.run()

    assert sorted_rows(lake.read(SUMMARY), "user_id") == [
        {
            "user_id": "u1",
            "events": 2,
            "revenue": 5.0,
            "first_seen": START,
            "last_seen": START + timedelta(seconds=30),
        },
        {
            "user_id": "u2",
            "events": 2,
            "revenue": 8.0,
            "first_seen": START + timedelta(seconds=70),
            "last_seen": START + timedelta(seconds=75),
        },
        {
            "user_id": "u3",
            "events": 2,
            "revenue": 0.0,
            "first_seen": START + timedelta(seconds=20),
            "last_seen": START + timedelta(hours=1),
        },
    ]
    incremental = {
        table: sorted_rows(lake.read(table), *lake.read(table).column_names)
        for table in (EVENTS, SUMMARY, MINUTES, MINUTE_USERS)
    }
    assert sorted_rows(lake.read(MINUTE_USERS), "minute") == [
        {"minute": START, "users": 2},  # u1, and u3's late event
        {"minute": START + timedelta(minutes=1), "users": 1},
        {"minute": START + timedelta(hours=1), "users": 1},
    ]
    runner.run(full_refresh=True)
    assert {
        table: sorted_rows(lake.read(table), *lake.read(table).column_names)
        for table in (EVENTS, SUMMARY, MINUTES, MINUTE_USERS)
    } == incremental


def test_a_run_with_nothing_new_commits_nothing(runner: ModelRunner, lake: Lakehouse) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    versions = {table: lake.version(table) for table in (EVENTS, SUMMARY, MINUTES)}

    assert set(statuses(runner.run()).values()) == {"up_to_date"}
    assert {table: lake.version(table) for table in versions} == versions


def test_every_commit_carries_the_txn_and_the_input_versions(
    runner: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    runner.run()

    assert lake.transaction_version(EVENTS, EVENTS) == 2
    commit = lake.history(EVENTS, limit=1)[0]
    assert commit["dataplatform.run_sequence"] == "2"
    assert json.loads(commit["dataplatform.inputs"]) == {
        BRONZE: [lake.version(BRONZE) - 1, lake.version(BRONZE)]
    }


def test_a_model_waits_for_an_input_that_has_no_table(runner: ModelRunner) -> None:
    results = runner.run()

    assert set(statuses(results).values()) == {"waiting"}
    assert "has no rows yet" in (results[0].error or "")


def test_selecting_an_unknown_model_suggests_the_closest(runner: ModelRunner) -> None:
    with pytest.raises(TerminalError, match=r"Did you mean `gold\.user_summary`"):
        runner.run(["gold.user_sumary"])


def test_a_failing_error_check_publishes_nothing_and_quarantines_the_rows(
    runner: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    before = lake.version(EVENTS)
    lake.append(BRONZE, events(("e6", None, "buy", 3.0, 90), ("e7", "u1", "view", 0.0, 95)))

    results = {result.model: result for result in runner.run()}

    assert results[EVENTS].status == "failed"
    assert "not_null(user_id) failed on 1 rows" in (results[EVENTS].error or "")
    assert results[SUMMARY].status == results[MINUTES].status == "skipped"
    assert lake.version(EVENTS) == before  # e7 passed, but the batch is held back whole
    assert "e7" not in lake.read(EVENTS)["event_id"].to_pylist()
    quarantined = lake.read(quarantine_table(EVENTS)).to_pylist()
    assert [(row["check"], row["column"], row["model"]) for row in quarantined] == [
        ("not_null", "user_id", EVENTS)
    ]
    assert json.loads(quarantined[0]["row"])["event_id"] == "e6"
    run = runner.runs.history(EVENTS, limit=1)[0]
    assert (run.status, run.rows_quarantined, run.output_version) == ("failed", 1, None)
    assert [c["check"] for c in run.checks if not c["passed"]] == ["not_null"]


def test_after_a_failed_check_the_next_run_retries_the_same_rows(
    runner: ModelRunner, lake: Lakehouse, models_dir: Path, sqlite_store: MetadataStore
) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, events(("e6", None, "buy", 3.0, 90), ("e7", "u1", "view", 0.0, 95)))
    runner.run()
    fixed = (
        (models_dir / "silver_events.sql")
        .read_text()
        .replace(
            "from ref('bronze.events')", "from ref('bronze.events')\nwhere user_id is not null and"
        )
        .replace("\nwhere event_id not in", " event_id not in")
    )
    (models_dir / "silver_events.sql").write_text(fixed)

    results = ModelRunner(shop_graph(models_dir), lake, sqlite_store).run()

    assert set(statuses(results).values()) == {"succeeded"}
    assert results[0].sequence == 2  # the failed attempt never took a sequence
    assert sorted(lake.read(EVENTS)["event_id"].to_pylist()) == ["e1", "e2", "e3", "e7"]


def test_a_failing_warn_check_publishes_and_records(runner: ModelRunner, lake: Lakehouse) -> None:
    lake.append(BRONZE, events(("e1", "u1", "refund", -4.0, 0)))

    results = {result.model: result for result in runner.run()}

    assert results[EVENTS].status == "succeeded"
    assert lake.read(EVENTS)["event_id"].to_pylist() == ["e1"]
    warned = [c for c in results[EVENTS].checks if not c["passed"]]
    assert warned == [
        {
            "check": "range",
            "column": "amount",
            "severity": "warn",
            "passed": False,
            "failing_rows": 1,
            "detail": "values outside [0.0, None]",
        }
    ]
    assert not lake.exists(quarantine_table(EVENTS))


def test_backfill_replaces_only_the_time_range(runner: ModelRunner, lake: Lakehouse) -> None:
    lake.append(BRONZE, FIRST)
    lake.append(BRONZE, SECOND)
    runner.run()
    expected = sorted_rows(lake.read(MINUTES), "minute", "event")
    lake.overwrite(
        MINUTES,
        pa.table(
            {"minute": [START], "event": ["buy"], "events": [999]}, schema=lake.read(MINUTES).schema
        ),
        predicate=f"minute = '{START.isoformat()}' AND event = 'buy'",
    )

    results = statuses(runner.backfill(START, START + timedelta(minutes=1)))

    assert set(results.values()) == {"succeeded"}
    assert sorted_rows(lake.read(MINUTES), "minute", "event") == expected
    assert sorted(lake.read(EVENTS)["event_id"].to_pylist()) == BOTH_BATCHES
    assert (
        runner.runs.history(SUMMARY, limit=1)[0].mode == "full"
    )  # not tied to time: rebuilt whole


TRAILING_DAYS = """
    /* ---
    name: gold.trailing_days
    materialized: merge
    unique_key: [day]
    time_column: day
    description: Events of each day and of the day before it, so a day's events reach the next day.
    columns:
      day: {type: date}
      events: {type: bigint}
    --- */
    select day, count(*) as events
    from (
        select (timestamp at time zone 'UTC')::date as day from ref('silver.events')
        union all
        select (timestamp at time zone 'UTC')::date + 1 from ref('silver.events')
    )
    group by day
    """


def test_backfill_writes_only_the_rows_inside_its_window(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(tmp_path / "trailing", {"gold_trailing_days.sql": TRAILING_DAYS})
    write_models(folder)  # and the shop's models, silver.events among them
    runner = ModelRunner(shop_graph(folder), lake, sqlite_store)
    lake.append(BRONZE, events(("e1", "u1", "view", 0, 0), ("e2", "u1", "view", 0, 86_400)))
    runner.run()
    day = START.date()
    midnight = START.replace(hour=0)

    # The window is the first day: the model also computes the second, which it must not write.
    results = statuses(runner.backfill(midnight, midnight + timedelta(days=1)))

    trailing = f"{SHOP}.gold.trailing_days"
    assert results[trailing] == "succeeded"
    assert sorted_rows(lake.read(trailing), "day") == [
        {"day": day, "events": 1},
        {"day": day + timedelta(days=1), "events": 2},
        {"day": day + timedelta(days=2), "events": 1},
    ]


def test_backfill_refuses_bounds_without_a_zone_or_in_the_wrong_order(runner: ModelRunner) -> None:
    with pytest.raises(TerminalError, match="time zone"):
        runner.backfill(START.replace(tzinfo=None), START.replace(tzinfo=None) + timedelta(hours=1))
    with pytest.raises(TerminalError, match="must be before"):
        runner.backfill(START, START)


def test_column_lineage_is_stored_per_model(runner: ModelRunner, lake: Lakehouse) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()

    edges = runner.runs.lineage([SUMMARY])

    assert ColumnEdge(EVENTS, "amount", SUMMARY, "revenue") in edges
    assert ColumnEdge(EVENTS, "timestamp", SUMMARY, "first_seen") in edges
    assert ColumnEdge(EVENTS, "user_id", SUMMARY, "user_id") in edges
    assert {edge.target_table for edge in edges} == {SUMMARY}
    assert all(edge.source_table != SUMMARY for edge in edges)  # this() is not an input


def test_a_python_model_gets_arrow_inputs_and_its_output_is_checked(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    schema = pa.schema([("user_id", pa.string()), ("tier", pa.string())])

    @python_model(
        name="gold.tiers",
        materialized="replace",
        description="Big spenders.",
        inputs=["gold.user_summary"],
        schema=schema,
        lineage={"tier": ["gold.user_summary.revenue"], "user_id": ["gold.user_summary.user_id"]},
    )
    def tiers(summary: pa.Table) -> pa.Table:
        rows = summary.to_pylist()
        return pa.table(
            {
                "user_id": [r["user_id"] for r in rows],
                "tier": ["gold" if r["revenue"] > 6 else "basic" for r in rows],
            }
        )

    graph = build_graph(SHOP, [*load_sql_models(models_dir), tiers], ["bronze.events"])
    runner = ModelRunner(graph, lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    runner.run()

    assert sorted_rows(lake.read(f"{SHOP}.gold.tiers"), "user_id") == [
        {"user_id": "u1", "tier": "basic"},
        {"user_id": "u2", "tier": "gold"},
    ]
    assert ColumnEdge(SUMMARY, "revenue", f"{SHOP}.gold.tiers", "tier") in runner.runs.lineage()


def test_a_python_model_returning_the_wrong_columns_fails_its_run(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    @python_model(
        name="gold.broken",
        materialized="replace",
        description="Forgets a column.",
        inputs=["silver.events"],
        schema=pa.schema([("user_id", pa.string()), ("score", pa.float64())]),
    )
    def broken(silver: pa.Table) -> pa.Table:
        return silver.select(["user_id"])

    graph = build_graph(SHOP, [*load_sql_models(models_dir), broken], ["bronze.events"])
    lake.append(BRONZE, FIRST)
    result = {r.model: r for r in ModelRunner(graph, lake, sqlite_store).run()}[
        f"{SHOP}.gold.broken"
    ]

    assert result.status == "failed"
    assert "returned no column ['score']" in (result.error or "")


def test_a_query_error_names_the_model_file(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(
        tmp_path / "bad",
        {
            "silver_events.sql": "/* ---\nname: silver.events\nmaterialized: append\ndescription: d\n--- */\nselect no_such_column from ref('bronze.events')\n"
        },
    )
    lake.append(BRONZE, FIRST)

    result = ModelRunner(shop_graph(folder), lake, sqlite_store).run()[0]

    assert result.status == "failed"
    assert "silver_events.sql:6" in (result.error or "") and "no_such_column" in (
        result.error or ""
    )
    assert runner_error(sqlite_store) == result.error


def runner_error(store: MetadataStore) -> str | None:
    from dataplatform.core.processing import RunLog

    return RunLog(store).history(limit=1)[0].error


def test_continuous_mode_runs_new_rows_until_stopped(runner: ModelRunner, lake: Lakehouse) -> None:
    lake.append(BRONZE, FIRST)
    stop = threading.Event()
    cycles: list[list[RunResult]] = []

    def on_cycle(results: list[RunResult]) -> None:
        cycles.append(results)
        if len(cycles) == 1:
            lake.append(BRONZE, SECOND)  # arrives while the runner waits
        if len(cycles) == 3:
            stop.set()

    worker = threading.Thread(
        target=runner.run_continuously, args=(0.05, stop), kwargs={"on_cycle": on_cycle}
    )
    worker.start()
    worker.join(timeout=120)

    assert not worker.is_alive()
    assert [statuses(cycle)[EVENTS] for cycle in cycles] == ["succeeded", "succeeded", "up_to_date"]
    assert lake.read(EVENTS).num_rows == 6


def test_a_column_added_to_a_model_header_reaches_its_table_without_a_full_refresh(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    lake.append(BRONZE, FIRST)
    ModelRunner(shop_graph(models_dir), lake, sqlite_store).run(["silver.events"])
    silver = (models_dir / "silver_events.sql").read_text()
    upgraded = silver.replace(
        "  timestamp: {type: timestamptz}\n",
        "  timestamp: {type: timestamptz}\n  is_order: {type: boolean}\n",
    ).replace(
        "select event_id, user_id, event, amount, timestamp\n",
        "select event_id, user_id, event, amount, timestamp, event = 'order' as is_order\n",
    )
    assert upgraded.count("is_order") == 2
    (models_dir / "silver_events.sql").write_text(upgraded)
    lake.append(BRONZE, SECOND)

    result = ModelRunner(shop_graph(models_dir), lake, sqlite_store).run(["silver.events"])[0]

    assert result.status == "succeeded", result.error
    rows = {row["event_id"]: row for row in lake.read(EVENTS).to_pylist()}
    assert sorted(rows) == BOTH_BATCHES
    assert all(rows[event_id]["is_order"] is None for event_id in ("e1", "e2", "e3"))
    assert all(rows[event_id]["is_order"] is not None for event_id in ("e4", "e5", "e11"))


def test_a_column_the_header_does_not_declare_is_still_refused(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    lake.append(BRONZE, FIRST)
    ModelRunner(shop_graph(models_dir), lake, sqlite_store).run(["silver.events"])
    silver = (models_dir / "silver_events.sql").read_text()
    (models_dir / "silver_events.sql").write_text(
        silver.replace(
            "select event_id, user_id, event, amount, timestamp\n",
            "select event_id, user_id, event, amount, timestamp, 1 as stray\n",
        )
    )
    lake.append(BRONZE, SECOND)

    result = ModelRunner(shop_graph(models_dir), lake, sqlite_store).run(["silver.events"])[0]

    assert result.status == "failed"
    assert "stray" in (result.error or "")


def test_duckdb_filters_a_dataset_whose_files_mix_string_types(lake: Lakehouse) -> None:
    """delta-rs writes strings as `string` on append but `string_view` on merge and delete; a
    string filter pushed into such a dataset failed in pyarrow (a since-window after an erasure)."""
    from dataplatform.core.processing import DuckDBEngine, Relation

    lake.append(BRONZE, FIRST)
    lake.delete(BRONZE, "event_id = 'e3'")  # rewrites FIRST's file, as an erasure does
    lake.append(BRONZE, SECOND)
    since = lake.dataset(BRONZE).filter(pa.compute.field("amount") >= 0)

    rows = DuckDBEngine().execute(
        "select event_id from v where event in ('buy', 'view') order by event_id",
        {"v": Relation(since)},
    )

    assert rows["event_id"].to_pylist() == ["e1", "e11", "e2", "e2", "e2", "e4", "e5"]


def test_publishing_a_batch_loads_its_table_only_through_the_writer_handle(
    lake: Lakehouse, sqlite_store: MetadataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner used to load the output table's schema (a replay of its Delta log) on every
    publish, only to decide whether declared new columns may be added; the lake decides that
    with the handle it commits through, which it keeps between writes."""
    from dataplatform.core.connectors.lakehouse import _tables

    loads: list[str] = []

    class CountingDeltaTable(_tables.DeltaTable):  # type: ignore[misc]
        def __init__(self, table_uri: str, *args: object, **kwargs: object) -> None:
            loads.append(str(table_uri))
            super().__init__(table_uri, *args, **kwargs)

    @python_model(
        name="gold.event_ids",
        materialized="append",
        description="Every event id seen.",
        inputs=["bronze.events"],
        schema=pa.schema([("event_id", pa.string())]),
        lineage={"event_id": ["bronze.events.event_id"]},
    )
    def event_ids(bronze: pa.Table) -> pa.Table:
        return bronze.select(["event_id"])

    runner = ModelRunner(build_graph(SHOP, [event_ids], ["bronze.events"]), lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    runner.run()  # creates the table and the runner's writer handle
    lake.append(BRONZE, SECOND)
    monkeypatch.setattr(_tables, "DeltaTable", CountingDeltaTable)

    result = runner.run()[0]

    assert result.status == "succeeded", result.error
    assert [uri for uri in loads if uri == lake.uri(f"{SHOP}.gold.event_ids")] == []
    assert lake.read(f"{SHOP}.gold.event_ids").num_rows == 8


def test_a_runner_starting_again_does_not_parse_lineage_it_already_recorded(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataplatform.core.processing import _runner

    lake.append(BRONZE, FIRST)
    ModelRunner(shop_graph(models_dir), lake, sqlite_store).run()
    parsed: list[str] = []
    original = _runner.column_lineage

    def counting(model, product, types):  # type: ignore[no-untyped-def]
        parsed.append(model.name)
        return original(model, product, types)

    monkeypatch.setattr(_runner, "column_lineage", counting)
    lake.append(BRONZE, SECOND)
    ModelRunner(shop_graph(models_dir), lake, sqlite_store).run()  # a new process, as it were
    assert parsed == []

    summary = models_dir / "gold_user_summary.sql"
    summary.write_text(summary.read_text().replace("as revenue,", "as revenue,  "))
    lake.append(BRONZE, events(("e9", "u1", "buy", 2.0, 90)))
    ModelRunner(shop_graph(models_dir), lake, sqlite_store).run()
    assert parsed == ["gold.user_summary"]  # its SQL changed: parsed again
