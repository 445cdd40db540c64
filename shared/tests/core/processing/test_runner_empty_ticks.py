"""A tick that brings nothing new commits nothing and runs nothing downstream."""

from pathlib import Path

import pyarrow as pa
from shop_models import (
    BRONZE,
    EVENTS,
    FIRST,
    MINUTE_USERS,
    MINUTES,
    MODELS,
    SECOND,
    SHOP,
    SUMMARY,
    events,
    shop_graph,
    sorted_rows,
    write_models,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner, RunResult

MODEL_TABLES = (EVENTS, MINUTES, MINUTE_USERS, SUMMARY)
# The SDK retried events the first batch already held: silver dedups them all away.
RETRIES = events(("e1", "u1", "buy", 5.0, 0), ("e3", "u2", "buy", 7.0, 70))
EVENT_COUNT = f"{SHOP}.gold.event_count"
EVENT_COUNT_SQL = """
    /* ---
    name: gold.event_count
    materialized: replace
    description: How many shop events there are, counted whole on every run.
    --- */
    select count(*) as events from ref('silver.events')
    """


def statuses(results: list[RunResult]) -> dict[str, str]:
    return {result.model: result.status for result in results}


def versions(lake: Lakehouse, tables: tuple[str, ...] = MODEL_TABLES) -> dict[str, int]:
    return {table: lake.version(table) for table in tables}


def contents(lake: Lakehouse) -> dict[str, list[dict[str, object]]]:
    return {
        table: sorted_rows(lake.read(table), *lake.read(table).column_names)
        for table in MODEL_TABLES
    }


def test_a_tick_of_only_duplicates_commits_nothing_and_runs_nothing_downstream(
    runner: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, FIRST)
    runner.run()
    before = versions(lake)
    lake.append(BRONZE, RETRIES)

    results = runner.run()

    assert statuses(results) == {
        EVENTS: "succeeded",  # it read the retries, and found nothing to add
        MINUTES: "up_to_date",
        MINUTE_USERS: "up_to_date",
        SUMMARY: "up_to_date",
    }
    assert versions(lake) == before
    run = runner.runs.history(EVENTS, limit=1)[0]
    assert (run.sequence, run.rows_in, run.rows_out, run.output_version) == (2, 2, 0, None)
    assert run.committed_nothing
    bronze = lake.version(BRONZE)
    assert run.input_versions == {BRONZE: [bronze - 1, bronze]}
    # The retries are not read again: the run record says they were consumed.
    assert set(statuses(runner.run()).values()) == {"up_to_date"}
    assert len(runner.runs.history(EVENTS)) == 2


def test_new_events_after_an_empty_tick_flow_through_exactly_once(
    runner: ModelRunner, lake: Lakehouse, tmp_path: Path, sqlite_url: str
) -> None:
    for batch in (FIRST, RETRIES, SECOND):
        lake.append(BRONZE, batch)
        results = {result.model: result for result in runner.run()}

    assert results[EVENTS].rows_in == 4  # SECOND's rows only: the retries were consumed
    assert results[EVENTS].sequence == 3
    assert runner.lake.transaction_version(EVENTS, EVENTS) == 3
    clean = Lakehouse(tmp_path / "clean")
    clean_store = MetadataStore(f"sqlite:///{tmp_path / 'clean.db'}")
    clean_store.upgrade()
    clean_runner = ModelRunner(runner.graph, clean, clean_store)
    for batch in (FIRST, SECOND):
        clean.append(BRONZE, batch)
        clean_runner.run()
    assert contents(lake) == contents(clean)


def test_a_replace_model_skips_a_version_that_changed_no_row(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(tmp_path / "models", {**MODELS, "gold_event_count.sql": EVENT_COUNT_SQL})
    runner = ModelRunner(shop_graph(folder), lake, sqlite_store)
    for batch in (FIRST, SECOND):
        lake.append(BRONZE, batch)
        runner.run()
    before = versions(lake, (EVENT_COUNT, SUMMARY))
    lake.compact(EVENTS)  # a new version of silver, with the same rows

    results = statuses(runner.run())

    assert (results[EVENT_COUNT], results[SUMMARY]) == ("up_to_date", "up_to_date")
    assert versions(lake, (EVENT_COUNT, SUMMARY)) == before
    assert lake.read(EVENT_COUNT).to_pylist() == [{"events": 6}]
    lake.append(BRONZE, events(("e6", "u4", "buy", 2.0, 90)))
    assert statuses(runner.run())[EVENT_COUNT] == "succeeded"
    assert lake.read(EVENT_COUNT).to_pylist() == [{"events": 7}]


def test_a_first_run_over_an_empty_input_creates_empty_tables(
    runner: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, FIRST.schema.empty_table())

    results = statuses(runner.run())

    assert results[EVENTS] == "succeeded"
    assert {table: lake.read(table).num_rows for table in MODEL_TABLES} == dict.fromkeys(
        MODEL_TABLES, 0
    )
    assert lake.transaction_version(EVENTS, EVENTS) is None  # created, nothing committed
    lake.append(BRONZE, FIRST)
    runner.run()
    assert sorted(pa.compute.unique(lake.read(EVENTS)["event_id"]).to_pylist()) == [
        "e1",
        "e2",
        "e3",
    ]
