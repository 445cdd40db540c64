"""kill -9 of the runner around its output commits, then a restart: no duplicate, no gap."""

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from shop_models import (
    BRONZE,
    EVENTS,
    FIRST,
    MINUTE_USERS,
    MINUTES,
    SECOND,
    SUMMARY,
    events,
    shop_graph,
    sorted_rows,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner

# Runs the shop models and dies with SIGKILL just before or just after one table's commit.
CRASHING_RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.processing import ModelRunner, build_graph, load_sql_models
    from pathlib import Path

    lake_root, database_url, models_dir, moment, table = sys.argv[1:]
    commit = Lakehouse._commit

    def commit_and_die(self, name, *args, **kwargs):
        if moment == "before" and str(name) == table:
            os.kill(os.getpid(), signal.SIGKILL)
        result = commit(self, name, *args, **kwargs)
        if moment == "after" and str(name) == table:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Lakehouse._commit = commit_and_die
    graph = build_graph("shop", load_sql_models(Path(models_dir)), ["bronze.events"])
    ModelRunner(graph, Lakehouse(lake_root), MetadataStore(database_url)).run()
    sys.exit("the runner was meant to die")
    """
)


def run_until_killed(
    script: str, lake: Lakehouse, store: MetadataStore, models_dir: Path, moment: str, table: str
) -> None:
    """Run the shop models in a process that `script` kills at `moment` of `table`'s run."""
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            lake.root,
            store.url.render_as_string(hide_password=False),
            str(models_dir),
            moment,
            table,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]


def tables(lake: Lakehouse) -> dict[str, list[dict[str, object]]]:
    return {
        table: sorted_rows(lake.read(table), *lake.read(table).column_names)
        for table in (EVENTS, MINUTES, MINUTE_USERS, SUMMARY)
    }


@pytest.fixture
def expected(tmp_path: Path, models_dir: Path) -> dict[str, list[dict[str, object]]]:
    """The tables after two clean runs over the same two batches."""
    lake = Lakehouse(tmp_path / "reference")
    store = MetadataStore(f"sqlite:///{tmp_path / 'reference.db'}")
    store.upgrade()
    runner = ModelRunner(shop_graph(models_dir), lake, store)
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    runner.run()
    return tables(lake)


@pytest.mark.parametrize(
    ("moment", "table"),
    [
        ("after", EVENTS),
        ("before", MINUTES),
        ("after", MINUTES),
        ("after", SUMMARY),
        ("after", MINUTE_USERS),
    ],
    ids=[
        "after-silver-commit",
        "between-silver-and-gold",
        "after-first-gold-commit",
        "after-last-commit",
        "after-a-lookback-model",
    ],
)
def test_a_runner_killed_around_a_commit_resumes_without_duplicate_or_gap(
    moment: str,
    table: str,
    lake: Lakehouse,
    store: MetadataStore,
    models_dir: Path,
    expected: dict[str, list[dict[str, object]]],
) -> None:
    lake.append(BRONZE, FIRST)
    run_until_killed(CRASHING_RUNNER, lake, store, models_dir, moment, table)
    lake.append(BRONZE, SECOND)  # traffic went on while the runner was down

    runner = ModelRunner(shop_graph(models_dir), lake, store)
    runner.run()
    runner.run()

    assert tables(lake) == expected
    for model in (EVENTS, MINUTES, MINUTE_USERS, SUMMARY):
        sequences = [
            run.sequence for run in runner.runs.history(model) if run.status == "succeeded"
        ]
        assert sorted(sequences) == list(
            range(1, len(sequences) + 1)
        )  # no sequence twice, none skipped
        assert all(run.status != "running" for run in runner.runs.history(model))


# Runs the shop models and dies with SIGKILL once `table`'s run is recorded as started, or as
# finished: the steps of a run that commits nothing to the lake.
DYING_IN_THE_RUN_LOG = textwrap.dedent(
    """
    import os, signal, sys
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.processing import ModelRunner, RunLog, build_graph, load_sql_models
    from pathlib import Path

    lake_root, database_url, models_dir, moment, table = sys.argv[1:]
    start, finish = RunLog.start, RunLog.finish
    started = {}

    def start_and_die(self, model, *args, **kwargs):
        run_id = start(self, model, *args, **kwargs)
        started[run_id] = model
        if moment == "started" and model == table:
            os.kill(os.getpid(), signal.SIGKILL)
        return run_id

    def finish_and_die(self, run_id, *args, **kwargs):
        finish(self, run_id, *args, **kwargs)
        if moment == "finished" and started[run_id] == table:
            os.kill(os.getpid(), signal.SIGKILL)

    RunLog.start, RunLog.finish = start_and_die, finish_and_die
    graph = build_graph("shop", load_sql_models(Path(models_dir)), ["bronze.events"])
    ModelRunner(graph, Lakehouse(lake_root), MetadataStore(database_url)).run()
    sys.exit("the runner was meant to die")
    """
)
RETRIES = events(("e1", "u1", "buy", 5.0, 0), ("e3", "u2", "buy", 7.0, 70))


@pytest.mark.parametrize("moment", ["started", "finished"])
def test_a_runner_killed_in_a_run_that_commits_nothing_resumes_without_duplicate_or_gap(
    moment: str,
    lake: Lakehouse,
    store: MetadataStore,
    models_dir: Path,
    expected: dict[str, list[dict[str, object]]],
) -> None:
    runner = ModelRunner(shop_graph(models_dir), lake, store)
    lake.append(BRONZE, FIRST)
    runner.run()
    before = {table: lake.version(table) for table in (EVENTS, MINUTES, MINUTE_USERS, SUMMARY)}
    lake.append(BRONZE, RETRIES)  # all duplicates: silver's batch is empty
    run_until_killed(DYING_IN_THE_RUN_LOG, lake, store, models_dir, moment, EVENTS)

    restarted = ModelRunner(shop_graph(models_dir), lake, store)
    restarted.run()
    assert {table: lake.version(table) for table in before} == before
    lake.append(BRONZE, SECOND)
    restarted.run()

    assert tables(lake) == expected
    silver_runs = restarted.runs.history(EVENTS)
    succeeded = sorted(run.sequence for run in silver_runs if run.status == "succeeded")
    assert succeeded == [1, 2, 3]  # the empty run once, whether the crash lost it or not
    assert all(run.status != "running" for run in silver_runs)
