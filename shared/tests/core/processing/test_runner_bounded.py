"""Bounded runs: a run reads each input only up to the version at which its new rows reach
`max_rows_per_run`, and `run_until_caught_up` repeats runs until every model has read all."""

import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
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
    RecordingEngine,
    events,
    shop_graph,
    sorted_rows,
    write_models,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner, RunResult

MODEL_TABLES = (EVENTS, MINUTES, MINUTE_USERS, SUMMARY)
BOUND = 3
THIRD = events(
    ("e4", "u2", "buy", 1.0, 75),  # a retry of SECOND's e4, two commits later
    ("e6", "u1", "buy", 2.0, 40),  # late: a minute the first commits already counted
)
FOURTH = events(("e7", "u4", "view", 0.0, 3610))
FIFTH = events(("e8", "u4", "buy", 9.0, 3620), ("e9", "u1", "view", 0.0, 3630))
# Bronze commits 0..4 and their rows: 4, 4, 2, 1, 2.
COMMITS = (FIRST, SECOND, THIRD, FOURTH, FIFTH)
# With a bound of 3: the first version whose rows since the last read reach 3, each time.
BOUNDED_READS = [[-1, 0], [0, 1], [1, 3], [3, 4]]
BRONZE_ROWS = f"{SHOP}.gold.bronze_rows"
BRONZE_ROWS_SQL = """
    /* ---
    name: gold.bronze_rows
    materialized: replace
    description: Every bronze row, counted whole on every run.
    --- */
    select count(*) as rows from ref('bronze.events')
    """
EVENT_IDS = f"{SHOP}.silver.event_ids"
EVENT_IDS_SQL = """
    /* ---
    name: silver.event_ids
    materialized: append
    description: Every bronze event id, beside silver.events.
    --- */
    select event_id from ref('bronze.events')
    """
BRONZE_VIEW = "shop__bronze__events"  # the view ref('bronze.events') reads
MAX_PASSES = 10  # a test's guard: a pass loop that never ends fails instead of hanging


def statuses(results: list[RunResult]) -> dict[str, str]:
    return {result.model: result.status for result in results}


def contents(lake: Lakehouse) -> dict[str, list[dict[str, object]]]:
    return {
        table: sorted_rows(lake.read(table), *lake.read(table).column_names)
        for table in MODEL_TABLES
    }


def guarded(passes: list[list[RunResult]]) -> Callable[[list[RunResult]], None]:
    def on_pass(results: list[RunResult]) -> None:
        passes.append(results)
        assert len(passes) <= MAX_PASSES, "the runner never caught up"

    return on_pass


def bronze_input(runner: ModelRunner, model: str) -> list[list[int]]:
    """The bronze versions each succeeded run of `model` read, in run order."""
    runs = sorted(runner.runs.history(model), key=lambda run: run.sequence)
    return [run.input_versions[BRONZE] for run in runs if run.status == "succeeded"]


def other_platform(tmp_path: Path, name: str) -> tuple[Lakehouse, MetadataStore]:
    store = MetadataStore(f"sqlite:///{tmp_path / f'{name}.db'}")
    store.upgrade()
    return Lakehouse(tmp_path / name), store


@pytest.fixture
def bounded(models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore) -> ModelRunner:
    return ModelRunner(shop_graph(models_dir), lake, sqlite_store, max_rows_per_run=BOUND)


@pytest.fixture
def unbounded_tables(tmp_path: Path, models_dir: Path) -> dict[str, list[dict[str, object]]]:
    """The tables after one unbounded run over the same five bronze commits."""
    lake, store = other_platform(tmp_path, "unbounded")
    for rows in COMMITS:
        lake.append(BRONZE, rows)
    runner = ModelRunner(shop_graph(models_dir), lake, store)
    assert not any(result.stopped_short for result in runner.run())
    return contents(lake)


def test_bounded_passes_give_the_tables_of_one_unbounded_run(
    bounded: ModelRunner, lake: Lakehouse, unbounded_tables: dict[str, list[dict[str, object]]]
) -> None:
    for rows in COMMITS:
        lake.append(BRONZE, rows)
    passes: list[list[RunResult]] = []

    returned = bounded.run_until_caught_up(on_pass=guarded(passes))

    assert returned == passes
    assert bronze_input(bounded, EVENTS) == BOUNDED_READS
    stopped = [[r.model for r in results if r.stopped_short] for results in passes]
    assert stopped == [[EVENTS], [EVENTS], [EVENTS], []]
    assert contents(lake) == unbounded_tables
    assert lake.read(EVENTS).num_rows == 10  # e1..e9 and e11, each once


def test_a_version_with_more_rows_than_the_bound_is_read_whole(
    bounded: ModelRunner, lake: Lakehouse
) -> None:
    lake.append(BRONZE, pa.concat_tables([FIRST, SECOND]))  # 8 rows in one version

    result = {result.model: result for result in bounded.run()}[EVENTS]

    assert (result.rows_in, result.stopped_short) == (8, False)
    assert bronze_input(bounded, EVENTS) == [[-1, 0]]


def test_a_replace_model_reads_its_inputs_whole_at_their_latest_version(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(tmp_path / "with_replace", {**MODELS, "bronze_rows.sql": BRONZE_ROWS_SQL})
    runner = ModelRunner(shop_graph(folder), lake, sqlite_store, max_rows_per_run=BOUND)
    for rows in COMMITS:
        lake.append(BRONZE, rows)

    results = {result.model: result for result in runner.run()}

    assert results[EVENTS].stopped_short and not results[BRONZE_ROWS].stopped_short
    assert bronze_input(runner, BRONZE_ROWS) == [[-1, 4]]
    assert lake.read(BRONZE_ROWS)["rows"].to_pylist() == [13]


def test_a_runner_stopped_between_passes_resumes_without_loss_or_duplicate(
    models_dir: Path,
    lake: Lakehouse,
    sqlite_store: MetadataStore,
    unbounded_tables: dict[str, list[dict[str, object]]],
) -> None:
    for rows in COMMITS:
        lake.append(BRONZE, rows)
    first = ModelRunner(shop_graph(models_dir), lake, sqlite_store, max_rows_per_run=BOUND)
    assert any(result.stopped_short for result in first.run())  # then the process is gone

    again = ModelRunner(shop_graph(models_dir), lake, sqlite_store, max_rows_per_run=BOUND)
    again.run_until_caught_up(on_pass=guarded([]))

    assert bronze_input(again, EVENTS) == BOUNDED_READS
    assert contents(lake) == unbounded_tables


def test_a_bounded_full_refresh_starts_from_the_inputs_it_rewrote(
    bounded: ModelRunner, lake: Lakehouse, unbounded_tables: dict[str, list[dict[str, object]]]
) -> None:
    for rows in COMMITS:
        lake.append(BRONZE, rows)
    bounded.run_until_caught_up(on_pass=guarded([]))
    passes: list[list[RunResult]] = []

    bounded.run_until_caught_up(full_refresh=True, on_pass=guarded(passes))

    # The gold models' first pass read silver from the version that overwrote it, not from the
    # rows it held before: those would be counted twice.
    assert contents(lake) == unbounded_tables
    modes = [run.mode for run in bounded.runs.history(SUMMARY)[: len(passes)]]
    assert modes == ["incremental"] * (len(passes) - 1) + ["full"]  # newest first
    assert bronze_input(bounded, EVENTS)[-len(BOUNDED_READS) :] == BOUNDED_READS


def test_a_pass_with_a_failed_model_ends_the_sequence(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(tmp_path / "two_branches", {**MODELS, "event_ids.sql": EVENT_IDS_SQL})
    runner = ModelRunner(shop_graph(folder), lake, sqlite_store, max_rows_per_run=BOUND)
    lake.append(BRONZE, FIRST)
    lake.append(BRONZE, events(("e20", None, "view", 0.0, 90)))  # fails not_null(user_id)
    lake.append(BRONZE, SECOND)
    lake.append(BRONZE, THIRD)
    passes: list[list[RunResult]] = []

    runner.run_until_caught_up(on_pass=guarded(passes))

    # silver.events would fail on the same rows again: the other branch waits for the fix.
    assert [statuses(results)[EVENTS] for results in passes] == ["succeeded", "failed"]
    assert [statuses(results)[EVENT_IDS] for results in passes] == ["succeeded"] * 2
    assert [r.model for r in passes[-1] if r.stopped_short] == [EVENT_IDS]


def test_the_continuous_runner_waits_only_once_it_has_caught_up(
    bounded: ModelRunner, lake: Lakehouse
) -> None:
    for rows in COMMITS:
        lake.append(BRONZE, rows)
    cycles: list[list[RunResult]] = []
    waits_after: list[int] = []  # how many cycles had ended at each wait

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits_after.append(len(cycles))
            return super().wait(0)

    stop = Stop()

    def on_cycle(results: list[RunResult]) -> None:
        cycles.append(results)
        if not any(result.stopped_short for result in results) or len(cycles) > MAX_PASSES:
            stop.set()

    bounded.run_continuously(3600, stop, on_cycle=on_cycle)

    assert len(cycles) == len(BOUNDED_READS)
    assert waits_after == [len(BOUNDED_READS)]


def test_a_first_run_over_a_log_that_lost_its_early_commits_starts_at_its_oldest_one(
    bounded: ModelRunner, lake: Lakehouse
) -> None:
    lake.create(
        BRONZE,
        FIRST.schema,
        properties={"delta.logRetentionDuration": "interval 0 seconds"},
    )  # version 0
    for rows in COMMITS[:3]:
        lake.append(BRONZE, rows)  # versions 1-3
    lake.checkpoint(BRONZE)  # at version 3: the log before it may go
    lake.table(BRONZE).cleanup_metadata()
    for rows in COMMITS[3:]:
        lake.append(BRONZE, rows)  # versions 4-5

    bounded.run_until_caught_up(on_pass=guarded([]))

    # Versions 0-2 cannot be loaded any more: the first read holds everything up to 3.
    assert bronze_input(bounded, EVENTS) == [[-1, 3], [3, 5]]
    assert lake.read(EVENTS).num_rows == 10


def test_an_input_that_only_gained_appends_is_read_from_the_files_they_added(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    engine = RecordingEngine()
    runner = ModelRunner(shop_graph(models_dir), lake, sqlite_store, engine)
    lake.append(BRONZE, FIRST)
    runner.run()
    before = set(lake.table(BRONZE).file_uris())
    lake.append(BRONZE, SECOND)
    lake.append(BRONZE, THIRD)
    engine.relations.clear()

    runner.run()

    bronze = engine.relations[0][BRONZE_VIEW]  # silver.events runs first
    assert isinstance(bronze.data, ds.Dataset)  # lazy: nothing of it read into memory yet
    assert set(bronze.files) == set(lake.table(BRONZE).file_uris()) - before
    assert bronze.data.count_rows() == SECOND.num_rows + THIRD.num_rows


def test_an_input_that_lost_rows_is_read_from_its_change_feed(
    models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    engine = RecordingEngine()
    runner = ModelRunner(shop_graph(models_dir), lake, sqlite_store, engine)
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    lake.delete(BRONZE, "event_id = 'e1'")
    engine.relations.clear()

    runner.run()

    bronze = engine.relations[0][BRONZE_VIEW]
    assert isinstance(bronze.data, pa.Table)
    assert sorted(bronze.data["event_id"].to_pylist()) == ["e11", "e2", "e4", "e5"]
