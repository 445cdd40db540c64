"""Running a product's models: incremental micro-batches, exactly once, checked and recorded.

For each model, in graph order:

1. The output table's Delta `txn` for the model (app id = model name) says which run sequence
   was last committed; the run record of that sequence says which input versions it read.
2. The new run reads what each input gained after those versions (its change data feed; the
   files they added, lazily, when those commits only appended), up to the inputs' current
   versions, and `this()` (the model's current output) when it asks for it. With
   `max_rows_per_run`, an incremental model reads an input only up to the first version at
   which its rows reach the bound (a first run: its snapshot there), and the next run goes on
   from there; `run_until_caught_up` repeats passes until no model stopped short.
3. The batch is checked. A failing `error` check publishes nothing: the failing rows go to
   `<product>.quarantine.<layer>_<table>` and the run fails, so the next run retries the same rows.
4. The batch is committed with `txn(model, sequence)` and the input versions in the commit's
   metadata. A replay of a committed sequence is skipped by the table, so a run killed anywhere
   and started again publishes each input row once. An incremental batch with no row to add
   commits nothing (its run record alone says it ran), so nothing downstream runs. A merge
   model's rows flagged `_deleted` remove their key's row in the same commit, and are taken
   off the batch before its checks.

Every commit passes the lake's suppression guard (installed from the run store when the lake has
none, and told the person columns of the graph's product): rows of people erased since, or
while, the batch was computed are left out of it.
"""

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import threading
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.fs import DeltaStorageHandler

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn, WriteResult, quarantine_of
from dataplatform.core.errors import NotFoundError, TerminalError, did_you_mean
from dataplatform.core.governance import protect
from dataplatform.core.processing._checks import CheckOutcome, run_checks
from dataplatform.core.processing._dag import ModelGraph
from dataplatform.core.processing._engines import (
    DuckDBEngine,
    Engine,
    Relation,
    SparkEngine,
    column_types,
    rows_of_keys,
)
from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._lineage import ColumnEdge, column_lineage, render
from dataplatform.core.processing._models import (
    DAY,
    DELETE_FLAG,
    Model,
    PythonModel,
    SqlModel,
)
from dataplatform.core.processing._runs import Run, RunLog, RunMode
from dataplatform.core.processing._snapshots import Input, Snapshot
from dataplatform.core.processing._spark_publish import SparkPublisher

logger = logging.getLogger(__name__)

MODEL_QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("run_id", pa.int64(), nullable=False),
        pa.field("run_sequence", pa.int64(), nullable=False),
        pa.field("check", pa.string(), nullable=False),
        pa.field("column", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("row", pa.string(), nullable=False),
    ]
)
_CHANGE_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
_NEW_ROWS = ("insert", "update_postimage")  # what an incremental reader sees of its inputs
# Tables that are not models (bronze) are sliced in time by the envelope's timestamp.
_DEFAULT_TIME_COLUMN = "timestamp"

Status = Literal["succeeded", "failed", "up_to_date", "waiting", "skipped"]


@dataclass(frozen=True)
class RunResult:
    """What one model's run did."""

    model: str
    status: Status
    sequence: int | None = None
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    output_version: int | None = None
    duration_ms: float = 0.0
    checks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    rows_deleted: int = 0  # rows a merge model flagged `_deleted` (a key no row had included)
    # The run read an input only up to a version before its latest (`max_rows_per_run`): the
    # next run goes on from there.
    stopped_short: bool = False


@dataclass(frozen=True)
class _InputRead:
    """An input as a run reads it: its new rows (all of it on a full read), and in an
    incremental read the rows it lost since (deleted, or the old version of an updated row)."""

    new_rows: Relation
    removed: pa.Table | None = None


@dataclass(frozen=True)
class _Plan:
    model: str
    sequence: int
    mode: RunMode
    inputs: dict[str, list[int]]  # table -> [after_version, up_to_version]; -1: the whole table
    window: tuple[datetime, datetime] | None
    # Incremental runs: the version of each input the last run read up to (none on a first run).
    consumed: dict[str, int] = field(default_factory=dict)
    # An input is read up to a version before its latest (`max_rows_per_run`).
    behind: bool = False


# The metrics with which delta-rs counts the rows a commit changed: added by a write; inserted,
# updated or deleted by a merge; deleted by a delete; updated by an update.
_CHANGED_ROWS_METRICS = (
    "num_added_rows",
    "num_target_rows_inserted",
    "num_target_rows_updated",
    "num_target_rows_deleted",
    "num_deleted_rows",
    "num_updated_rows",
)


@dataclass(frozen=True)
class _Commit:
    """One commit of a table, as its log entry tells: how many rows it changed, whether it
    overwrote the whole table (a snapshot from it on holds no row of an earlier commit), and
    the files it added when adding files is all it did (an append: its rows are theirs)."""

    rows: int
    replaces_all: bool
    appended: tuple[str, ...] | None


class _CommitLog:
    """What each commit of a table did, read from the commit's entry in the Delta log.

    An entry never changes, so each is read once (per table id: a table created again is
    another). delta-rs's `history()` cannot serve: it numbers the commits down from the version
    its handle loaded, so a commit landing in between shifts every number.
    """

    def __init__(self, lake: Lakehouse) -> None:
        self.lake = lake
        self._known: dict[tuple[str, str], dict[int, _Commit]] = {}
        self._logs: dict[str, pafs.FileSystem] = {}

    def reaching(self, table: str, snapshot: DeltaTable, after: int, bound: int) -> int:
        """The first version after `after` at which the rows committed since reach `bound`, or
        the snapshot's version if they never do.

        For a whole read (`after` -1) they are the rows a snapshot holds: those committed from
        the table's last overwrite of all its rows on. A log that lost its early commits (log
        retention) is read at its oldest commit left, whose snapshot holds them all: no earlier
        version can be loaded.
        """
        latest = snapshot.version()
        known = self._known_of(table, snapshot)
        first = after + 1
        if after < 0:
            first = self._last_overwrite(table, known, latest)
            if first > 0 and self._commit(table, known, first - 1) is None:
                return first
        _forget_before(known, first)
        rows = 0
        for version in range(first, latest + 1):
            commit = self._commit(table, known, version)
            rows += commit.rows if commit is not None else 0
            if rows >= bound:
                return version
        return latest

    def appended(self, table: str, snapshot: DeltaTable, after: int) -> set[str] | None:
        """The files the commits after `after` up to the snapshot's version added, if each of
        them appended and did nothing else (None otherwise, or if an entry left the log)."""
        known = self._known_of(table, snapshot)
        _forget_before(known, after + 1)
        files: set[str] = set()
        for version in range(after + 1, snapshot.version() + 1):
            commit = self._commit(table, known, version)
            if commit is None or commit.appended is None:
                return None
            files.update(commit.appended)
        return files

    def _last_overwrite(self, table: str, known: dict[int, _Commit], latest: int) -> int:
        """The table's last version that overwrote all its rows (its first, the creation, if
        none did), or the oldest version still in the log."""
        version = latest
        while version > 0:
            commit = self._commit(table, known, version)
            if commit is None:
                return version + 1
            if commit.replaces_all:
                return version
            version -= 1
        return 0

    def _known_of(self, table: str, snapshot: DeltaTable) -> dict[int, _Commit]:
        # A uuid, though deltalake's stub says int.
        return self._known.setdefault((table, str(snapshot.metadata().id)), {})

    def _commit(self, table: str, known: dict[int, _Commit], version: int) -> _Commit | None:
        if version not in known:
            entry = self._entry(table, version)
            if entry is None:
                return None
            known[version] = _commit_of(entry)
        return known[version]

    def _entry(self, table: str, version: int) -> bytes | None:
        """The commit's entry in the log, or None when log retention removed it."""
        log = self._logs.get(table)
        if log is None:
            # The store delta-rs reads the table with, so an `s3://` lake is read the same way.
            handler = DeltaStorageHandler(self.lake.uri(table), self.lake.storage_options)
            log = self._logs[table] = pafs.PyFileSystem(handler)
        try:
            with log.open_input_stream(f"_delta_log/{version:020d}.json") as entry:
                return bytes(entry.read())
        except FileNotFoundError:
            return None


def _forget_before(known: dict[int, _Commit], first: int) -> None:
    """Drop the commits before `first`: only a reader further behind asks for them again, and
    reads their entries again."""
    for version in [version for version in known if version < first]:
        del known[version]


def _commit_of(entry: bytes) -> _Commit:
    """A commit from its log entry: the rows its operation metrics count (an entry without them,
    written by another engine: the records of the files it added)."""
    info: dict[str, Any] = {}
    added: list[dict[str, Any]] = []
    # A plain append: no remove, change-data file or deletion vector, and no new table
    # metadata (a schema change: the files added since would not all share one schema).
    only_adds = True
    for line in entry.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        if "commitInfo" in action:
            info = action["commitInfo"]
        elif "add" in action:
            added.append(action["add"])
            only_adds = only_adds and action["add"].get("deletionVector") is None
        elif "remove" in action or "cdc" in action or "metaData" in action:
            only_adds = False
    metrics = info.get("operationMetrics") or {}
    counted = [int(metrics[name]) for name in _CHANGED_ROWS_METRICS if name in metrics]
    records = sum(
        int(json.loads(add["stats"]).get("numRecords", 0))
        for add in added
        if add.get("dataChange", True) and add.get("stats")
    )
    parameters = info.get("operationParameters") or {}
    replaces_all = (
        info.get("operation") in ("WRITE", "CREATE OR REPLACE TABLE")
        and parameters.get("mode") == "Overwrite"
        and not parameters.get("predicate")
    )
    appends = only_adds and all(add.get("dataChange", True) for add in added)
    files = tuple(unquote(add["path"]) for add in added) if appends else None
    return _Commit(sum(counted) if counted else records, replaces_all, files)


def quarantine_table(model: str) -> str:
    """Where rows failing a model's `error` checks go: `<product>.quarantine.<layer>_<table>`."""
    product, table = model.split(".", 1)
    return quarantine_of(product, table)


def view_name(table: str) -> str:
    """The name an engine binds a table under: `web.silver.events` -> `web__silver__events`."""
    return table.replace(".", "__")


def _since_view_name(table: str) -> str:
    return f"{view_name(table)}__since"


def _touched_view_name(table: str, key: str) -> str:
    return f"{view_name(table)}__touched__{key}"


class ModelRunner:
    """Runs the models of one product's graph against a lakehouse, recording every run.

    With `max_rows_per_run`, a model's run reads each input only up to the first version at
    which the rows committed since its last run reach it (see `_read_up_to`), and says so
    (`RunResult.stopped_short`): a long history is then read by a sequence of runs of bounded
    memory (`run_until_caught_up`), as any sequence of ticks would read it.
    """

    def __init__(
        self,
        graph: ModelGraph,
        lake: Lakehouse,
        store: MetadataStore,
        engine: Engine | None = None,
        *,
        max_rows_per_run: int | None = None,
    ) -> None:
        if max_rows_per_run is not None and max_rows_per_run < 1:
            raise TerminalError(
                f"max_rows_per_run is {max_rows_per_run}; give at least 1, or None for no bound."
            )
        self.graph = graph
        self.lake = lake
        protect(lake, store, graph.person_columns)
        self.runs = RunLog(store)
        self.engine = engine or DuckDBEngine()
        self.max_rows_per_run = max_rows_per_run
        self._recorded_lineage: dict[str, str] = {}
        self._commit_log = _CommitLog(lake)

    # --- entry points ---------------------------------------------------------------------------

    def run(
        self, models: Sequence[str] | None = None, *, full_refresh: bool = False
    ) -> list[RunResult]:
        """Run the selected models (all by default) once: incrementally, or from scratch.

        One pass: a model whose inputs hold more than `max_rows_per_run` new rows reads a part
        of them and stops short (`RunResult.stopped_short`); the models after it read what it
        committed.
        """
        return self._run_all(self._select(models), "full" if full_refresh else "incremental", None)

    def run_until_caught_up(
        self,
        models: Sequence[str] | None = None,
        *,
        full_refresh: bool = False,
        on_pass: Callable[[list[RunResult]], None] | None = None,
    ) -> list[list[RunResult]]:
        """Run passes until no model stopped short of its inputs' latest versions, or one
        failed (the next pass would retry the same rows); every pass's results, in order.

        With `full_refresh`, the first pass recomputes from scratch and the others go on
        incrementally from where it stopped. `on_pass` sees each pass as it ends.
        """
        selected = self._select(models)
        mode: RunMode = "full" if full_refresh else "incremental"
        passes = []
        while True:
            results = self._run_all(selected, mode, None)
            passes.append(results)
            if on_pass is not None:
                on_pass(results)
            if not _behind(results):
                return passes
            mode = "incremental"

    def backfill(
        self, start: datetime, end: datetime, models: Sequence[str] | None = None
    ) -> list[RunResult]:
        """Recompute `[start, end)`: models with a `time_column` replace that range only,
        the others (whose rows are not tied to a time) are refreshed whole."""
        if start.tzinfo is None or end.tzinfo is None:
            raise TerminalError("backfill bounds need a time zone, e.g. 2026-11-01T00:00:00+00:00.")
        if start >= end:
            raise TerminalError(f"backfill start {start} must be before its end {end}.")
        return self._run_all(self._select(models), "backfill", (start, end))

    def run_continuously(
        self,
        every_seconds: float,
        stop: threading.Event,
        models: Sequence[str] | None = None,
        on_cycle: Callable[[list[RunResult]], None] | None = None,
    ) -> None:
        """Run every `every_seconds` until `stop` is set; a cycle in progress always finishes.

        A cycle that stopped short of its inputs (`max_rows_per_run`) is followed by the next
        at once: the runner waits only once it has caught up (or a model failed).
        """
        while not stop.is_set():
            results = self.run(models)
            if on_cycle is not None:
                on_cycle(results)
            if not _behind(results):
                stop.wait(every_seconds)

    # --- one pass over the graph ----------------------------------------------------------------

    def _select(self, models: Sequence[str] | None) -> list[str]:
        order = self.graph.order()
        if not models:
            return order
        wanted = set()
        for name in models:
            qualified = f"{self.graph.product}.{name}"
            if qualified not in self.graph.models:
                known = [model.split(".", 1)[1] for model in order]
                raise TerminalError(
                    f"`{name}` is not a model of `{self.graph.product}`.{did_you_mean(name, known)}"
                )
            wanted.add(qualified)
        return [name for name in order if name in wanted]

    def _run_all(
        self, selected: list[str], mode: RunMode, window: tuple[datetime, datetime] | None
    ) -> list[RunResult]:
        failed: set[str] = set()
        results = []
        for name in selected:
            blocked = [table for table in self.graph.inputs[name] if table in failed]
            if blocked:
                result = RunResult(name, "skipped", error=f"upstream `{blocked[0]}` failed")
            else:
                result = self._run_model(name, mode, window)
            if result.status in ("failed", "skipped"):
                failed.add(name)
            results.append(result)
        return results

    def _run_model(
        self, name: str, mode: RunMode, window: tuple[datetime, datetime] | None
    ) -> RunResult:
        model = self.graph.models[name]
        bounded = mode != "backfill"  # a backfill reads its range (or, untimed, all) at once
        if mode == "backfill" and model.header.time_column is None:
            mode, window = "full", None
        plan = self._plan(model, name, mode, window, bounded=bounded)
        if isinstance(plan, RunResult):
            return plan
        # A Python model is a function over Arrow: it runs here whichever engine runs the SQL.
        engine = "python" if isinstance(model, PythonModel) else self.engine.name
        run_id = self.runs.start(name, plan.sequence, plan.mode, engine, plan.inputs, plan.window)
        started = time.perf_counter()
        try:
            result = self._execute(model, plan, run_id)
        except Exception as exc:  # recorded on the run, logged, and returned as a failure
            logger.exception("model run failed", extra={"model": name, "run_id": run_id})
            error = _one_line(exc)
            self.runs.finish(run_id, "failed", error=error)
            return RunResult(name, "failed", plan.sequence, error=error)
        elapsed = (time.perf_counter() - started) * 1000
        return replace(result, duration_ms=elapsed)

    def _plan(
        self,
        model: Model,
        name: str,
        mode: RunMode,
        window: tuple[datetime, datetime] | None,
        *,
        bounded: bool,
    ) -> "_Plan | RunResult":
        committed = self._committed_sequence(name)
        self.runs.settle_interrupted(name, committed)
        committed, previous = self._last_run_done(name, committed)
        if committed and previous is None:
            return RunResult(
                name,
                "failed",
                error=f"`{name}` holds run {committed} but the metadata store has no record of it; "
                f"rebuild it with `dataplatform models run --full-refresh --model {model.name}`.",
            )
        reads_new_rows = mode == "incremental" and model.header.is_incremental
        # What each input held at the last committed run; without it, inputs are read whole.
        consumed = previous.input_versions if previous is not None and reads_new_rows else {}
        inputs: dict[str, list[int]] = {}
        behind = False
        for table in self.graph.inputs[name]:
            try:
                snapshot = self.lake.table(table)
            except NotFoundError:
                return RunResult(
                    name, "waiting", committed, error=f"input `{table}` has no rows yet"
                )
            latest = snapshot.version()
            after = consumed.get(table, [-1, -1])[1]
            if after > latest:
                return RunResult(
                    name,
                    "failed",
                    error=f"input `{table}` is at version {latest}, before the {after} this "
                    f"model last read (was it re-created?); run with --full-refresh.",
                )
            up_to = self._read_up_to(model, table, snapshot, after) if bounded else latest
            behind = behind or up_to < latest
            inputs[table] = [after, up_to]
        if (
            mode == "incremental"
            and previous is not None
            and all(
                previous.input_versions.get(table, [None, None])[1] == versions[1]
                for table, versions in inputs.items()
            )
        ):
            return RunResult(name, "up_to_date", committed)
        last_read = (
            previous.input_versions if previous is not None and mode == "incremental" else {}
        )
        read_up_to = {
            table: versions[1] for table, versions in last_read.items() if table in inputs
        }
        return _Plan(name, committed + 1, mode, inputs, window, read_up_to, behind)

    def _read_up_to(self, model: Model, table: str, snapshot: DeltaTable, after: int) -> int:
        """The version a run reads `table` up to: the first at which the rows committed after
        `after` (on a whole read: all its snapshot holds) reach `max_rows_per_run`, or its latest.

        A version is read whole, however many rows it holds. A model that is not incremental
        (`replace`, or `incremental: false`) reads its inputs whole at their latest versions:
        each of its runs recomputes everything, so a capped run would cost as much and publish a
        past state. A capped whole read is the table as it was at that version, which the next
        runs take forward through its change feed, as they would after any run.
        """
        latest = snapshot.version()
        bound = self.max_rows_per_run
        if bound is None or not model.header.is_incremental or latest - after <= 1:
            return latest
        return self._commit_log.reaching(table, snapshot, after, bound)

    def _committed_sequence(self, name: str) -> int:
        return self.lake.transaction_version(name, name) or 0  # None: no table, or never written

    def _last_run_done(self, name: str, committed: int) -> tuple[int, Run | None]:
        """The last finished run's sequence and record: the table's txn, or a later run that
        committed nothing (its batch was empty), which only the run store knows of."""
        latest = self.runs.latest_succeeded(name)
        if (
            latest is not None
            and latest.committed_nothing
            and latest.sequence > committed
            and self.lake.exists(name)  # a dropped table is rebuilt from scratch, whatever ran
        ):
            return latest.sequence, latest
        return committed, self.runs.committed(name, committed) if committed else None

    # --- executing a plan -----------------------------------------------------------------------

    def _execute(self, model: Model, plan: _Plan, run_id: int) -> RunResult:
        if self._no_input_row_changed(model, plan):
            return self._nothing_new(plan, run_id)
        reads = {
            table: self._input(table, after, up_to, plan.window)
            for table, (after, up_to) in plan.inputs.items()
        }
        relations = {table: read.new_rows for table, read in reads.items()}
        removed = {table: read.removed for table, read in reads.items()}
        rows_in = sum(_row_count(relation) for relation in relations.values())
        # A row an input lost touches its keys too, for the models that read by touched key.
        lost_touches = _reads_touched(model) and any(
            rows is not None and rows.num_rows for rows in removed.values()
        )
        if plan.consumed and model.header.is_incremental and not rows_in and not lost_touches:
            return self._nothing_new(plan, run_id)
        this = self._this(model, plan)
        if isinstance(model, SqlModel) and isinstance(self.engine, SparkEngine):
            return self._execute_on_spark(model, plan, run_id, relations, removed, this)
        computed = self._compute(model, plan, relations, removed, this)
        kept, deletes = _split_deletes(model, computed)
        batch = _declared_types(model, _with_derived_partitions(model, kept))
        if deletes is not None:  # a derived `day` may be one of the keys they remove
            deletes = _with_derived_partitions(model, deletes)
        checks, failures = self._judge(plan, self._check(model, plan, batch))
        if failures:
            return self._refuse(plan, run_id, failures, checks, rows_in, batch.num_rows)
        written = self._publish(model, batch, deletes, plan)
        deleted = 0 if deletes is None else deletes.num_rows
        schemas = {table: relation.schema for table, relation in relations.items()}
        schemas[plan.model] = batch.schema
        return self._succeed(
            model, plan, run_id, written, checks, (rows_in, batch.num_rows, deleted), schemas
        )

    def _execute_on_spark(
        self,
        model: SqlModel,
        plan: _Plan,
        run_id: int,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation | None,
    ) -> RunResult:
        """The run on Spark: the output is checked and committed by Spark (`SparkPublisher`),
        only counts and failing rows come back here."""
        assert isinstance(self.engine, SparkEngine)
        rows_in = sum(_row_count(relation) for relation in relations.values())
        views, sql = self._query(model, plan, relations, removed, this)
        publisher = SparkPublisher(self.engine, self.lake)
        typed = any(column.type for column in model.header.columns.values())
        declared = _declared_schema(model) if typed else pa.schema([])
        with (
            self._staged_for_spark(views) as views,
            publisher.batch(model, sql, views, declared) as batch,
        ):
            existing = plan.model if self._checks_existing(model, plan) else None
            recent = self._recent_output_rows(model, plan)
            outcomes = publisher.check(batch, model.header.checks, existing, recent)
            checks, failures = self._judge(plan, outcomes)
            if failures:
                return self._refuse(plan, run_id, failures, checks, rows_in, batch.count)
            written = None
            changes = bool(batch.count or batch.deleted is not None)
            how = self._how_to_publish(model, plan, batch.schema, changes)
            if how is not None:
                written = publisher.publish(
                    model,
                    batch,
                    plan.model,
                    how,
                    Txn(plan.model, plan.sequence),
                    self._commit_metadata(plan),
                    _replaced_window(model, plan),
                )
            counts = (rows_in, batch.count, batch.deleted_count)
            schemas = {table: relation.schema for table, relation in relations.items()}
            schemas[plan.model] = batch.schema
            return self._succeed(model, plan, run_id, written, checks, counts, schemas)

    def _judge(
        self, plan: _Plan, outcomes: list[CheckOutcome]
    ) -> tuple[list[dict[str, Any]], list[CheckOutcome]]:
        """The checks' records, and the failures that refuse the batch (warnings are logged)."""
        failures = [o for o in outcomes if not o.result.passed and o.result.severity == "error"]
        for warning in (o for o in outcomes if not o.result.passed and o.result.severity == "warn"):
            logger.warning(
                "check warned",
                extra={
                    "model": plan.model,
                    "check": warning.result.label,
                    "detail": warning.result.detail,
                },
            )
        return [outcome.result.as_record() for outcome in outcomes], failures

    def _succeed(
        self,
        model: Model,
        plan: _Plan,
        run_id: int,
        written: WriteResult | None,
        checks: list[dict[str, Any]],
        counts: tuple[int, int, int],
        schemas: dict[str, pa.Schema],
    ) -> RunResult:
        """Record a published run (rows in, out and deleted) and its lineage, from the schemas
        in hand (the inputs' and the output's: reopening each table would replay its log)."""
        rows_in, rows_out, rows_deleted = counts
        # None: nothing committed (nor a deleted key's merge that matched no row): the run
        # store records it.
        committed = written is not None and not written.nothing_changed
        output_version = written.version if written is not None and committed else None
        self.runs.finish(
            run_id,
            "succeeded",
            rows_in=rows_in,
            rows_out=rows_out,
            rows_quarantined=0,
            output_version=output_version,
            checks=checks,
        )
        self._record_lineage(model, plan.model, schemas)
        return RunResult(
            plan.model,
            "succeeded",
            plan.sequence,
            rows_in,
            rows_out,
            0,
            output_version,
            checks=checks,
            rows_deleted=rows_deleted,
            stopped_short=plan.behind,
        )

    def _no_input_row_changed(self, model: Model, plan: _Plan) -> bool:
        """Whether a replace model's inputs moved (a compaction, say) without changing a row.

        Incremental models find out from the change feeds they read anyway; a replace model
        would read its inputs whole, so it asks their change feeds since its last run first.
        """
        if model.header.is_incremental or set(plan.consumed) != set(plan.inputs):
            return False
        return not any(
            self.lake.changes_since(table, plan.consumed[table], until=up_to).num_rows
            for table, (_, up_to) in plan.inputs.items()
            if plan.consumed[table] < up_to
        )

    def _nothing_new(self, plan: _Plan, run_id: int) -> RunResult:
        """Record that the inputs' new versions hold no new row, so no run reads them again.

        The run commits nothing: its record (succeeded, no output version) is how the next
        run knows it is done. No query ran, so it has no output row count to judge batches by.
        """
        self.runs.finish(run_id, "succeeded", rows_in=0, rows_quarantined=0)
        return RunResult(plan.model, "up_to_date", plan.sequence, stopped_short=plan.behind)

    def _input(
        self, table: str, after: int, up_to: int, window: tuple[datetime, datetime] | None
    ) -> "_InputRead":
        if window is not None:
            snapshot = self._snapshot(table, up_to)
            rows = _as_dataset(snapshot).to_table(filter=self._in_window(table, snapshot, window))
            return _InputRead(Relation(rows))
        if after >= 0:
            appended = self._appended(table, after, up_to)
            if appended is not None:
                return _InputRead(appended)
            changes = self.lake.changes_since(table, after, until=up_to)
            is_new = pc.is_in(changes["_change_type"], pa.array(_NEW_ROWS))
            new_rows = changes.filter(is_new).drop_columns(list(_CHANGE_COLUMNS))
            removed = changes.filter(pc.invert(is_new)).drop_columns(list(_CHANGE_COLUMNS))
            return _InputRead(Relation(new_rows), removed)
        return _InputRead(self._snapshot(table, up_to))

    def _appended(self, table: str, after: int, up_to: int) -> Relation | None:
        """What `table` gained after `after` up to `up_to`, if its commits only appended: the
        files they added, read lazily as a snapshot's are (the engine reads only the columns
        and rows it needs), where the change feed would hold every column of every row in
        memory. None when a commit did more (then only the change feed tells what it lost)."""
        snapshot = self.lake.table(table, version=up_to)
        added = self._commit_log.appended(table, snapshot, after)
        if added is None:
            return None
        whole = snapshot.to_pyarrow_dataset()
        fragments = [fragment for fragment in whole.get_fragments() if fragment.path in added]
        if len(fragments) != len(added):  # not as the log says: leave it to the change feed
            return None
        partitions = tuple(snapshot.metadata().partition_columns)
        root = self.lake.uri(table)
        files = [f"{root}/{fragment.path}" for fragment in fragments]
        return Relation(
            ds.FileSystemDataset(fragments, whole.schema, whole.format, whole.filesystem),
            tuple(files) if files and not partitions and self._reads_files else (),
            partitions,
        )

    @property
    def _reads_files(self) -> bool:
        """Whether the engine reads a snapshot's parquet files itself: DuckDB those on a local
        disk; Spark any, through the lake's store (S3A on S3)."""
        return self.lake.is_local or isinstance(self.engine, SparkEngine)

    def _snapshot(self, table: str, version: int | None = None) -> Relation:
        """A whole snapshot, with its files when an engine may read them directly."""
        snapshot = self.lake.table(table, version=version)
        partitions = tuple(snapshot.metadata().partition_columns)
        whole_files = not partitions and self._reads_files
        return Relation(
            snapshot.to_pyarrow_dataset(),
            tuple(snapshot.file_uris()) if whole_files else (),
            partitions,
        )

    def _in_window(
        self, table: str, rows: Relation, window: tuple[datetime, datetime]
    ) -> ds.Expression | None:
        column = self._time_column(table)
        if column is None or column not in rows.schema.names:
            return None  # not sliceable in time: read whole
        inside = (ds.field(column) >= pa.scalar(window[0])) & (
            ds.field(column) < pa.scalar(window[1])
        )
        last_day = _utc_date(window[1] - timedelta(microseconds=1))
        days = self._days(table, rows, _utc_date(window[0]), last_day)
        return inside if days is None else inside & days

    def _days(
        self, table: str, rows: Relation, first: date, last: date | None = None
    ) -> ds.Expression | None:
        """The days `first`..`last` of a table partitioned by the `day` the runner derives for
        its model (None for other tables): the files of the other days are pruned unread.

        Only a partitioned table: a `day` added to an existing table leaves its older files
        without one, and delta-rs then describes them so that any filter on `day` drops them.
        """
        model = self.graph.models.get(table)
        if (
            model is None
            or DAY not in model.header.derived_partitions
            or DAY not in rows.partitions
        ):
            return None
        days = ds.field(DAY) >= pa.scalar(first)
        return days if last is None else days & (ds.field(DAY) <= pa.scalar(last))

    def _this(self, model: Model, plan: _Plan) -> Relation | None:
        if not _reads_itself(model):
            return None
        if plan.mode == "full" or not self.lake.exists(plan.model):
            return Relation(_declared_schema(model).empty_table())
        current = self._snapshot(plan.model)
        if plan.window is not None:
            inside = self._in_window(plan.model, current, plan.window)
            return Relation(
                _as_dataset(current).to_table(filter=None if inside is None else ~inside)
            )
        return current

    def _compute(
        self,
        model: Model,
        plan: _Plan,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation | None,
    ) -> pa.Table:
        if isinstance(model, PythonModel):
            return _call_python_model(
                model, self._python_arguments(model, plan, relations, removed, this)
            )
        views, sql = self._query(model, plan, relations, removed, this)
        try:
            return self.engine.execute(sql, views)
        except duckdb.Error as exc:
            raise ModelDefinitionError(
                model.path, model.body_line, f"the query failed: {exc}"
            ) from None

    @contextlib.contextmanager
    def _staged_for_spark(self, views: dict[str, Relation]) -> Iterator[dict[str, Relation]]:
        """`views` with the rows read here (change feeds, lookbacks, touched keys) staged as
        Parquet files in the lake, which Spark's executors read in splits: given as Arrow, they
        would be held whole in the driver's heap."""
        in_memory = {
            view: relation.data if isinstance(relation.data, pa.Table) else relation.data.to_table()
            for view, relation in views.items()
            if not relation.files
        }
        with self.lake.staged(
            {view: rows for view, rows in in_memory.items() if rows.num_rows}
        ) as uris:
            yield {
                view: Relation(in_memory[view], (uris[view],), relation.partitions)
                if view in uris
                else relation
                for view, relation in views.items()
            }

    def _query(
        self,
        model: SqlModel,
        plan: _Plan,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation | None,
    ) -> tuple[dict[str, Relation], str]:
        """The views a SQL model's query reads, and the query naming them."""
        views = {view_name(table): relation for table, relation in relations.items()}
        if this is not None:
            views[view_name(plan.model)] = this
        views.update(self._lookback_views(model, plan, relations, this))
        views.update(self._touched_views(model, plan, relations, removed, this))
        sql = render(model, self.graph.product, view_name, _since_view_name, _touched_view_name)
        return views, sql

    def _python_arguments(
        self,
        model: PythonModel,
        plan: _Plan,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation | None,
    ) -> tuple[list[pa.Table | Input], dict[str, Snapshot]]:
        """One argument per input, in order: its new rows, or an `Input` where the parameter
        asks for one; and `this` as a lazy `Snapshot` where the function takes it."""
        wants_input = _input_parameters(model)
        arguments: list[pa.Table | Input] = []
        for position, (table, relation) in enumerate(relations.items()):
            new_rows = _materialise(relation)
            if position not in wants_input:
                arguments.append(new_rows)
                continue
            lost = removed.get(table)
            snapshot = relation if plan.inputs[table][0] < 0 and plan.window is None else None
            arguments.append(
                Input(
                    new_rows,
                    lost if lost is not None else new_rows.schema.empty_table(),
                    Snapshot(table, snapshot or self._snapshot(table, plan.inputs[table][1])),
                )
            )
        keywords = {"this": Snapshot(plan.model, this)} if this is not None else {}
        return arguments, keywords

    def _lookback_views(
        self, model: SqlModel, plan: _Plan, relations: dict[str, Relation], this: Relation | None
    ) -> dict[str, Relation]:
        """ref_since() and this_since(): rows from a while before the batch's earliest row."""
        if not model.lookbacks and model.this_lookback is None:
            return {}
        earliest = self._earliest_new_time(plan, relations)
        views = {}
        for table, lookback in model.lookbacks.items():
            qualified = f"{self.graph.product}.{table}"
            after, up_to = plan.inputs[qualified]
            # A whole read already holds every row; incremental and backfill reads hold a part.
            whole = after < 0 and plan.window is None
            snapshot = relations[qualified] if whole else self._snapshot(qualified, up_to)
            views[_since_view_name(qualified)] = self._since(
                qualified, snapshot, after, earliest, lookback
            )
        if model.this_lookback is not None and this is not None:
            views[_since_view_name(plan.model)] = self._since(
                plan.model,
                this,
                0 if plan.mode == "incremental" else -1,
                earliest,
                model.this_lookback,
            )
        return views

    def _touched_views(
        self,
        model: SqlModel,
        plan: _Plan,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation | None,
    ) -> dict[str, Relation]:
        """ref_touched() and this_touched(): the rows of the keys the inputs' new rows hold, or
        the rows they lost (deleted, or the old version of an updated row) held."""
        if not model.touched and not model.this_touched:
            return {}
        earliest = self._earliest_new_time(plan, relations)
        views = {}
        for (table, key), lookback in model.touched.items():
            qualified = f"{self.graph.product}.{table}"
            after, up_to = plan.inputs[qualified]
            whole = after < 0 and plan.window is None
            snapshot = relations[qualified] if whole else self._snapshot(qualified, up_to)
            if after < 0:  # a full read (or a backfill): every key is in the batch's reach
                views[_touched_view_name(qualified, key)] = snapshot
                continue
            macro = f"ref_touched('{table}', '{key}')"
            keys = _touched_keys([relations[qualified]], [removed.get(qualified)], key, macro)
            if lookback is None:
                views[_touched_view_name(qualified, key)] = self._rows_of(
                    snapshot, key, keys, table
                )
                continue
            # The keys' rows since the lookback's start, as `_since` keeps them: a filter on
            # the time column and its days, so the files of partitions before it stay shut.
            since = None
            column = self._time_column(qualified)
            if earliest is not None and column in snapshot.schema.names:
                since = ds.field(column) >= pa.scalar(earliest - lookback)
                days = self._days(qualified, snapshot, _utc_date(earliest - lookback))
                since = since if days is None else since & days
            rows = self._rows_of(snapshot, key, keys, table, since)
            views[_touched_view_name(qualified, key)] = Relation(
                _materialise(self._since(qualified, rows, after, earliest, lookback))
            )
        if this is not None:
            for key in model.this_touched:
                views[_touched_view_name(plan.model, key)] = self._this_touched(
                    model, plan, relations, removed, this, key
                )
        return views

    def _this_touched(
        self,
        model: SqlModel,
        plan: _Plan,
        relations: dict[str, Relation],
        removed: dict[str, pa.Table | None],
        this: Relation,
        key: str,
    ) -> Relation:
        """The model's output rows whose `key` is among the new (or lost) rows of the inputs
        that have it (or of the one input named), since the lookback when one is given."""
        if plan.mode != "incremental":  # a full run's `this` is empty; a backfill's, the rest
            return this
        how = model.this_touched[key]
        macro = f"this_touched('{key}')"
        having = [table for table, rows in relations.items() if key in rows.schema.names]
        if how.keys_from is not None:
            having = [f"{self.graph.product}.{how.keys_from}"]
            if key not in relations[having[0]].schema.names:
                raise TerminalError(
                    f"{macro}: `{how.keys_from}` has no column `{key}` to take the touched keys "
                    f"from.{did_you_mean(key, relations[having[0]].schema.names)}"
                )
        if not having:
            raise TerminalError(
                f"{macro}: no input of `{plan.model}` has a column `{key}` to take the touched "
                f"keys from; inputs: {', '.join(relations)}."
            )
        keys = _touched_keys(
            [relations[table] for table in having],
            [removed.get(table) for table in having],
            key,
            macro,
        )
        since = None
        if how.lookback is not None:
            since = self._this_since_filter(plan, relations, this, how.lookback, macro)
        return self._rows_of(this, key, keys, plan.model, since)

    def _this_since_filter(
        self,
        plan: _Plan,
        relations: dict[str, Relation],
        this: Relation,
        lookback: timedelta,
        macro: str,
    ) -> ds.Expression | None:
        """The model's rows from `lookback` before the batch's earliest row, and those with no
        time (facts that hold on every day); None (every row) when no new row has a time."""
        # An untimed model (a backfill rebuilds it whole) still has its events' `timestamp`.
        column = self._time_column(plan.model) or _DEFAULT_TIME_COLUMN
        if column not in this.schema.names:
            raise TerminalError(
                f"{macro} looks back along `{plan.model}`'s `{column}`, which it does not "
                "have; give its model a `time_column`."
            )
        earliest = self._earliest_new_time(plan, relations)
        if earliest is None:
            return None
        start: datetime | date = earliest - lookback
        if isinstance(start, datetime) and pa.types.is_date(this.schema.field(column).type):
            # A model's own day (in the reporting timezone, say) begins within a day of the
            # instant's UTC date: a day earlier keeps every row the lookback reaches.
            start = _utc_date(start) - timedelta(days=1)
        return (ds.field(column) >= pa.scalar(start)) | ds.field(column).is_null()

    @staticmethod
    def _rows_of(
        rows: Relation, key: str, keys: pa.Array, table: str, where: ds.Expression | None = None
    ) -> Relation:
        """The rows of `keys` (and `where`, whose partition values prune files): whole
        partitions when `key` partitions the table, else the row groups holding a key."""
        if key not in rows.schema.names:
            raise TerminalError(
                f"`{table}` has no column `{key}` to read the touched keys' rows by."
                f"{did_you_mean(key, rows.schema.names)}"
            )
        if key in rows.partitions:  # whole files per key: the others are never opened
            kept = ds.field(key).isin(keys)
            kept = kept if where is None else kept & where
            return Relation(_as_dataset(rows).filter(kept), partitions=rows.partitions)
        return Relation(rows_of_keys(rows, key, keys, where))

    def _since(
        self,
        table: str,
        rows: Relation,
        after: int,
        earliest: datetime | None,
        lookback: timedelta,
    ) -> Relation:
        if after < 0:  # a full read: every row is in the batch's reach
            return rows
        if earliest is None:  # nothing new with a time: nothing around it either
            return Relation(rows.schema.empty_table())
        column = self._time_column(table)
        if column is None or column not in rows.schema.names:
            raise TerminalError(
                f"`{table}` has no time column to look back along; give its model a `time_column`."
            )
        # Lazy: the engine reads only the columns it needs, from the files the filter keeps.
        start = earliest - lookback
        since = ds.field(column) >= pa.scalar(start)
        days = self._days(table, rows, _utc_date(start))
        if days is not None:  # whole partitions pruned, whatever the files' statistics hold
            since = since & days
        return Relation(_as_dataset(rows).filter(since))

    def _earliest_new_time(self, plan: _Plan, relations: dict[str, Relation]) -> datetime | None:
        """The earliest time among the rows the inputs gained (None on a full read)."""
        earliest = None
        for table, (after, _) in plan.inputs.items():
            column = self._time_column(table)
            data = relations[table].data
            if after < 0 or column is None or column not in data.schema.names:
                continue
            # Appended files are read lazily: of them, only the time column.
            times = data if isinstance(data, pa.Table) else data.to_table(columns=[column])
            lowest = pc.min(times[column]).as_py()
            if lowest is not None and (earliest is None or lowest < earliest):
                earliest = lowest
        return earliest

    def _time_column(self, table: str) -> str | None:
        upstream = self.graph.models.get(table)
        return upstream.header.time_column if upstream is not None else _DEFAULT_TIME_COLUMN

    def _check(self, model: Model, plan: _Plan, batch: pa.Table) -> list[CheckOutcome]:
        checks = model.header.checks
        if not checks:
            return []
        existing = self.lake.dataset(plan.model) if self._checks_existing(model, plan) else None
        return run_checks(
            batch,
            checks,
            existing=existing,
            recent_row_counts=self._recent_output_rows(model, plan),
        )

    def _checks_existing(self, model: Model, plan: _Plan) -> bool:
        """Whether an append's unique checks also look in the rows already published."""
        is_append = model.header.materialized == "append" and plan.mode == "incremental"
        return is_append and bool(model.header.checks) and self.lake.exists(plan.model)

    def _recent_output_rows(self, model: Model, plan: _Plan) -> list[int]:
        checks = model.header.checks
        if not checks:
            return []
        return list(self.runs.recent_output_rows(plan.model, max(c.runs for c in checks)))

    def _refuse(
        self,
        plan: _Plan,
        run_id: int,
        failures: list[CheckOutcome],
        checks: list[dict[str, Any]],
        rows_in: int,
        rows_out: int,
    ) -> RunResult:
        """Publish nothing; keep the failing rows in quarantine with the check that caught them."""
        now = datetime.now(UTC)
        parts = []
        for outcome in failures:
            count = outcome.failing.num_rows
            result = outcome.result
            parts.append(
                pa.table(
                    {
                        "quarantined_at": [now] * count,
                        "model": [plan.model] * count,
                        "run_id": [run_id] * count,
                        "run_sequence": [plan.sequence] * count,
                        "check": [result.check] * count,
                        "column": [result.column] * count,
                        "reason": [result.detail] * count,
                        "row": outcome.failing["row"],
                    },
                    schema=MODEL_QUARANTINE_SCHEMA,
                )
            )
        rows = pa.concat_tables(parts)
        # One quarantine commit per attempt: a retry after a crash here does not add it twice.
        self.lake.append(
            quarantine_table(plan.model), rows, txn=Txn(f"{plan.model}#quarantine", run_id)
        )
        summary = "; ".join(
            f"{o.result.label} failed on {o.result.failing_rows} rows ({o.result.detail})"
            for o in failures
        )
        error = f"checks failed, the batch was not published: {summary}"
        self.runs.finish(
            run_id,
            "failed",
            rows_in=rows_in,
            rows_out=0,
            rows_quarantined=rows.num_rows,
            checks=checks,
            error=error,
        )
        logger.error("model checks failed", extra={"model": plan.model, "error": error})
        return RunResult(
            plan.model,
            "failed",
            plan.sequence,
            rows_in,
            0,
            rows.num_rows,
            checks=checks,
            error=error,
        )

    def _publish(
        self, model: Model, batch: pa.Table, deletes: pa.Table | None, plan: _Plan
    ) -> WriteResult | None:
        """Commit the batch (and, for an incremental merge, the `deletes`) with the run's txn;
        an incremental run that changes no row commits nothing (None), so the table's version,
        and every model downstream, stay put. Overwrites have nothing to delete from."""
        target = plan.model
        changes = bool(batch.num_rows) or deletes is not None
        how = self._how_to_publish(model, plan, batch.schema, changes)
        if how is None:
            return None
        txn = Txn(target, plan.sequence)
        metadata = self._commit_metadata(plan)
        # The lake decides on the table it already holds: reading the schema here cost a replay
        # of the table's log on every publish.
        evolve = _declared_columns(model)
        window = _replaced_window(model, plan)
        if window is not None:
            column, start, end = window
            predicate = (
                f"\"{column}\" >= '{start.isoformat()}' AND \"{column}\" < '{end.isoformat()}'"
            )
            inside = _within(batch, column, (start, end))
            return self.lake.overwrite(
                target,
                inside,
                predicate=predicate,
                txn=txn,
                evolve_schema=evolve,
                commit_metadata=metadata,
            )
        if how == "overwrite":  # a full refresh lays out a table its header partitions anew
            return self.lake.overwrite(
                target,
                batch,
                txn=txn,
                evolve_schema=evolve,
                commit_metadata=metadata,
                partition_by=model.header.partition_by,
            )
        if how == "merge":
            return self.lake.merge(
                target,
                batch,
                model.header.unique_key,
                deletes=deletes,
                txn=txn,
                evolve_schema=evolve,
                commit_metadata=metadata,
            )
        return self.lake.append(
            target, batch, txn=txn, evolve_schema=evolve, commit_metadata=metadata
        )

    def _how_to_publish(
        self, model: Model, plan: _Plan, schema: pa.Schema, changes: bool
    ) -> Literal["overwrite", "merge", "append"] | None:
        """How the run's output reaches its table (created first, even empty, so readers find
        it); None when an incremental run has no row to change."""
        header = model.header
        if not self.lake.exists(plan.model):
            self.lake.create(
                plan.model,
                schema,
                partition_by=header.partition_by,
                description=header.description,
            )
        if plan.mode == "incremental" and header.materialized != "replace" and not changes:
            return None
        if _replaced_window(model, plan) or plan.mode == "full" or header.materialized == "replace":
            return "overwrite"
        return "merge" if header.materialized == "merge" else "append"

    @staticmethod
    def _commit_metadata(plan: _Plan) -> dict[str, str]:
        """What each commit says of the run that made it."""
        return {
            "dataplatform.model": plan.model,
            "dataplatform.run_sequence": str(plan.sequence),
            "dataplatform.mode": plan.mode,
            "dataplatform.inputs": json.dumps(plan.inputs, sort_keys=True),
        }

    # --- lineage --------------------------------------------------------------------------------

    def _record_lineage(self, model: Model, name: str, schemas: dict[str, pa.Schema]) -> None:
        """Store the model's column lineage when its SQL or the columns it reads changed.

        Parsing a model's SQL for its lineage costs more than a small tick's query, so what it
        was computed from is kept in the store too: a runner starting again computes nothing.
        """
        fingerprint = _lineage_fingerprint(model, schemas)
        if self._recorded_lineage.get(name) == fingerprint:
            return
        if self.runs.lineage_fingerprint(name) == fingerprint:
            self._recorded_lineage[name] = fingerprint
            return
        if isinstance(model, SqlModel):
            try:
                types = {table: column_types(schema) for table, schema in schemas.items()}
                edges = column_lineage(model, self.graph.product, types)
            except ModelDefinitionError as exc:
                logger.warning(
                    "column lineage not recorded", extra={"model": name, "reason": str(exc)}
                )
                return
        else:
            edges = _declared_edges(model, self.graph.product, name)
        self.runs.replace_lineage(name, edges, fingerprint)
        self._recorded_lineage[name] = fingerprint


# Part of every lineage fingerprint: change it when `column_lineage` starts finding other edges
# in the same SQL, so that every model's lineage is computed again.
_LINEAGE_RULES = 1


def _lineage_fingerprint(model: Model, schemas: dict[str, pa.Schema]) -> str:
    """What a model's column lineage depends on, hashed: its SQL (a Python model's declared
    lineage), the schemas it reads, and the rules that find the edges."""
    declared = model.sql if isinstance(model, SqlModel) else sorted(model.lineage.items())
    source = json.dumps(
        [_LINEAGE_RULES, declared, {table: str(schema) for table, schema in schemas.items()}],
        sort_keys=True,
    )
    return hashlib.sha256(source.encode()).hexdigest()


def _behind(results: list[RunResult]) -> bool:
    """Whether a pass left rows for another: a model stopped short, and none failed (a failed
    one would fail again on the same rows)."""
    failed = any(result.status == "failed" for result in results)
    return not failed and any(result.stopped_short for result in results)


def _one_line(exc: Exception) -> str:
    """The error without the native backtrace some libraries append to their messages."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:2000]


def _reads_touched(model: Model) -> bool:
    """Whether the model reads by the keys of the rows its inputs lost as well as gained."""
    if isinstance(model, PythonModel):
        return bool(_input_parameters(model))
    return bool(model.touched or model.this_touched)


def _reads_itself(model: Model) -> bool:
    if isinstance(model, SqlModel):
        return model.reads_itself
    return "this" in inspect.signature(model.function).parameters


def _replaced_window(model: Model, plan: _Plan) -> tuple[str, datetime, datetime] | None:
    """A backfill's (time column, start, end): the rows it replaces in the table, the others
    kept; None when the run replaces or adds to the whole table."""
    if plan.window is None or model.header.time_column is None:
        return None
    return (model.header.time_column, *plan.window)


def _declared_columns(model: Model) -> frozenset[str]:
    """The columns a model's run may add to its table: those it declares.

    A model that gains a column in its header adds it to its table on the next run (older rows
    read null), so an upgrade needs no full refresh; a column nobody declared is still refused.
    """
    derived = model.header.derived_partitions
    if isinstance(model, PythonModel):
        return frozenset([*model.schema.names, *derived])
    return frozenset(
        [*(name for name, spec in model.header.columns.items() if spec.type), *derived]
    )


def _split_deletes(model: Model, computed: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """The rows to publish, and those flagged `_deleted` (None when none is): the flag goes
    before checks, types and lineage, so they see only the rows that stay."""
    if DELETE_FLAG not in computed.schema.names:
        return computed, None
    flag = computed[DELETE_FLAG]
    if model.header.materialized != "merge":
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returns `{DELETE_FLAG}`, which only a `merge` model may "
            f"return (it removes the row of its unique_key); an {model.header.materialized} "
            "model leaves the rows out of its query instead.",
        )
    if not pa.types.is_boolean(flag.type):
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returns `{DELETE_FLAG}` as {flag.type}; it must be a "
            f"boolean, e.g. `true as {DELETE_FLAG}`.",
        )
    deleted = pc.fill_null(flag, False)  # null: kept, like false
    rows = computed.drop_columns([DELETE_FLAG])
    gone = rows.filter(deleted)
    return rows.filter(pc.invert(deleted)), gone if gone.num_rows else None


def _with_derived_partitions(model: Model, batch: pa.Table) -> pa.Table:
    """The batch with the `day` its header partitions by: the UTC date of its time column.

    A model may compute `day` itself; then it must be that date, or the partitions would lie
    to the lookbacks that prune by them.
    """
    header = model.header
    for column in header.derived_partitions:
        time_column = str(header.time_column)
        if time_column not in batch.schema.names:
            raise ModelDefinitionError(
                model.path,
                None,
                f"model `{model.name}` returns no `{time_column}` (its time_column), which "
                f"its partition column `{column}` is derived from.",
            )
        days = _utc_dates(batch[time_column])
        if column not in batch.schema.names:
            batch = batch.append_column(pa.field(column, pa.date32()), days)
            continue
        differs = pc.fill_null(pc.not_equal(batch[column].cast(pa.date32()), days), True)
        mismatch = pc.and_(differs, pc.is_valid(days))
        if pc.any(mismatch).as_py():
            index = pc.index(mismatch, True).as_py()
            raise ModelDefinitionError(
                model.path,
                None,
                f"model `{model.name}` returns `{column}` {batch[column][index].as_py()} for "
                f"`{time_column}` {batch[time_column][index].as_py()}; `{column}` must be its "
                f"UTC date: leave `{column}` out of the query and the runner adds it.",
            )
    return batch


def _utc_dates(moments: pa.ChunkedArray) -> pa.ChunkedArray:
    """The UTC date of each timestamp (a zone-less one is taken as UTC), or the dates as they are."""
    if pa.types.is_timestamp(moments.type):
        moments = moments.cast(pa.timestamp(moments.type.unit, tz="UTC"))
    return moments.cast(pa.date32())


def _utc_date(moment: datetime | date) -> date:
    if not isinstance(moment, datetime):
        return moment
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def _declared_types(model: Model, batch: pa.Table) -> pa.Table:
    """The batch with the header's column types, so every engine publishes the same types."""
    if isinstance(model, PythonModel) or not any(c.type for c in model.header.columns.values()):
        return batch
    declared = _declared_schema(model)
    missing = [name for name in declared.names if name not in batch.schema.names]
    if missing:
        raise ModelDefinitionError(
            model.path, model.body_line, f"the query returns no column {missing} of the header."
        )
    fields = [declared.field(f.name) if f.name in declared.names else f for f in batch.schema]
    return batch.cast(pa.schema(fields))


def _declared_schema(model: Model) -> pa.Schema:
    """The declared output columns and types (of a SQL model: its typed header columns)."""
    if isinstance(model, PythonModel):
        return model.schema
    typed = tuple((name, spec.type) for name, spec in model.header.columns.items() if spec.type)
    return _arrow_schema_of(typed)


@functools.cache  # asked on every run; a header's types change only with its file
def _arrow_schema_of(typed_columns: tuple[tuple[str, str], ...]) -> pa.Schema:
    columns = ", ".join(f'cast(null as {kind}) as "{name}"' for name, kind in typed_columns)
    with duckdb.connect() as connection:
        empty = connection.sql(f"select {columns} limit 0")
        if empty is None:
            raise TerminalError(f"the column types {typed_columns} describe no columns.")
        return empty.to_arrow_table().schema


def _input_parameters(model: PythonModel) -> frozenset[int]:
    """The positions of the inputs whose parameter is annotated `Input`."""
    hints = typing.get_type_hints(model.function)
    names = [name for name in inspect.signature(model.function).parameters if name != "this"]
    return frozenset(position for position, name in enumerate(names) if hints.get(name) is Input)


def _call_python_model(
    model: PythonModel, call: tuple[list[pa.Table | Input], dict[str, Snapshot]]
) -> pa.Table:
    arguments, keywords = call
    result = model.function(*arguments, **keywords)
    if not isinstance(result, pa.Table):
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returned {type(result).__name__}, not a pyarrow.Table.",
        )
    missing = [name for name in model.schema.names if name not in result.schema.names]
    if missing:
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returned no column {missing} of its declared schema.",
        )
    try:
        typed = result.select(model.schema.names).cast(model.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returned columns that do not fit its schema: {exc}",
        ) from None
    if DELETE_FLAG in result.schema.names and DELETE_FLAG not in model.schema.names:
        # Not an output column: the runner splits the rows on it.
        return typed.append_column(DELETE_FLAG, result[DELETE_FLAG])
    return typed


def _as_dataset(relation: Relation) -> ds.Dataset:
    return relation.data if isinstance(relation.data, ds.Dataset) else ds.dataset(relation.data)


def _touched_keys(
    new_rows: list[Relation], lost_rows: list[pa.Table | None], key: str, macro: str
) -> pa.Array:
    """The distinct keys of the rows inputs gained, and of those they lost (where they hold
    the key: a lost row's table is the new rows' table, so only an empty read may lack it)."""
    keys = [_keys_of(relation, key, macro) for relation in new_rows]
    keys += [
        _keys_of(Relation(lost), key, macro)
        for lost in lost_rows
        if lost is not None and lost.num_rows
    ]
    if not keys:
        return pa.array([])
    # A merge may have written the key as string_view where appends wrote string.
    return pc.unique(pa.chunked_array([values.cast(keys[0].type) for values in keys]))


def _keys_of(relation: Relation, key: str, macro: str) -> pa.Array:
    """The distinct non-null values of `key` in `relation` (rows an input gained or lost)."""
    if key not in relation.schema.names:
        raise TerminalError(
            f"{macro}: the input's rows have no column `{key}`."
            f"{did_you_mean(key, relation.schema.names)}"
        )
    values = _as_dataset(relation).to_table(columns=[key])[key]
    return pc.unique(pc.drop_null(values))


def _materialise(relation: Relation) -> pa.Table:
    return relation.data if isinstance(relation.data, pa.Table) else relation.data.to_table()


def _row_count(relation: Relation) -> int:
    return int(
        relation.data.num_rows
        if isinstance(relation.data, pa.Table)
        else relation.data.count_rows()
    )


def _declared_edges(model: PythonModel, product: str, name: str) -> list[ColumnEdge]:
    edges = []
    for target_column, sources in model.lineage.items():
        for source in sources:
            layer, table, column = source.split(".")
            edges.append(ColumnEdge(f"{product}.{layer}.{table}", column, name, target_column))
    return sorted(edges)


def _within(batch: pa.Table, column: str, window: tuple[datetime, datetime]) -> pa.Table:
    """The rows of a backfill's batch inside its window: the window is all it replaces.

    A model may compute rows past it (a trailing metric reaching the days after a changed one);
    those keep their published values until a run covers them.
    """
    values = batch[column]
    bounds: tuple[Any, Any] = window
    if pa.types.is_date(values.type):
        # As the lake's predicate reads them: a bound becomes its (UTC) date.
        bounds = (window[0].astimezone(UTC).date(), window[1].astimezone(UTC).date())
    elif pa.types.is_timestamp(values.type) and values.type.tz is None:
        bounds = (
            window[0].astimezone(UTC).replace(tzinfo=None),
            window[1].astimezone(UTC).replace(tzinfo=None),
        )
    low, high = pa.scalar(bounds[0], values.type), pa.scalar(bounds[1], values.type)
    inside = batch.filter(pc.and_(pc.greater_equal(values, low), pc.less(values, high)))
    if inside.num_rows < batch.num_rows:
        logger.info(
            "backfill keeps the rows inside its window",
            extra={"dropped": batch.num_rows - inside.num_rows, "column": column},
        )
    return inside
