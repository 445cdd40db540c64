"""Reading and writing Delta tables under one lake root."""

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Schema, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from dataplatform.core.connectors.lakehouse._files import TableFiles
from dataplatform.core.connectors.lakehouse._history import (
    FilesNaming,
    Purged,
    RowMatcher,
    Scrubbed,
    commit_change_files,
    files_holding,
    files_naming,
    scrub_change_data,
    scrub_log,
)
from dataplatform.core.connectors.lakehouse._names import TableName
from dataplatform.core.connectors.lakehouse._staging import staged_files
from dataplatform.core.connectors.lakehouse._store import store_options, table_folders
from dataplatform.core.decorators import measure_performance, retry
from dataplatform.core.errors import (
    CommitConflictError,
    InvalidNameError,
    NotFoundError,
    SchemaMismatchError,
    TerminalError,
)

logger = logging.getLogger(__name__)

# Every table records its change data feed, so incremental readers can ask what changed since a version.
_TABLE_PROPERTIES = {"delta.enableChangeDataFeed": "true"}
# Which columns a file's min/max statistics cover: by name, or the first N.
_STATISTICS_COLUMNS = "delta.dataSkippingStatsColumns"
_STATISTICS_WIDTH = "delta.dataSkippingNumIndexedCols"
_CHANGE_FIELDS = (
    pa.field("_change_type", pa.string()),
    pa.field("_commit_version", pa.int64()),
    pa.field("_commit_timestamp", pa.timestamp("ms")),
)
# Appends commute, so delta-rs may rebase them itself; a transactional write must instead re-check
# its transaction version after any conflict, which only our retry loop does.
_TRANSACTIONAL_COMMIT_RETRIES = 0
# The column a merge's source flags its deletes with: `when_matched_delete` reads it.
_DELETE_FLAG = "_deleted"
_WRITE_ATTEMPTS = 30

# Which new columns a write may add to its table: none (False), any (True), or only those named
# (a model adds the columns its header declares, and still refuses any other).
Evolution = bool | AbstractSet[str]
# Commits the conformed rows on top of the table's handle (or creates the table at its URI);
# the flag says whether the rows bring columns the table lacks.
_Write = Callable[[DeltaTable | str, pa.Table, CommitProperties, bool], None]


class Txn(NamedTuple):
    """An idempotent write's identity: the writer (`app_id`) and its monotonically rising version."""

    app_id: str
    version: int


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the table version it created, or `skipped` when `txn` was already there.

    `nothing_changed`: delta-rs made no commit, as for a merge whose every row is a delete that
    matches nothing; the version is the table's, and `txn` is not recorded.
    """

    table: str
    version: int
    rows: int
    skipped: bool = False
    nothing_changed: bool = False


class WriteGuard(Protocol):
    """What every commit passes through (`dataplatform.core.governance.PersonGuard`)."""

    def admit(self, table: str, rows: pa.Table) -> pa.Table:
        """The rows that may be committed to `table`."""
        ...

    def unindexed_columns(self, table: str) -> frozenset[str]:
        """Columns of `table` whose values must stay out of the log's file statistics."""
        ...

    def erased(self, table: str) -> tuple[frozenset[str], frozenset[str]]:
        """`table`'s person columns, and the SHA-256 (hex) of every erased id: what a writer
        that commits rows itself (Spark) leaves out, as `admit` would."""
        ...


class Lakehouse:
    """Delta tables named `<product>.<layer>.<table>` under `root` (a folder or an `s3://` URI).

    With a `guard`, every append, overwrite and merge commits only the rows it admits, and
    tables are created with its unindexed columns left out of their file statistics.
    """

    def __init__(
        self,
        root: str | Path,
        storage_options: dict[str, str] | None = None,
        *,
        guard: WriteGuard | None = None,
    ) -> None:
        self.root = str(root).rstrip("/")
        self.storage_options = store_options(self.root, storage_options)
        self.is_local = "://" not in self.root
        self.guard = guard
        # Writers reuse one handle per table and replay only the commits made since their last
        # write, instead of the whole log on every commit; a lock per table keeps this process's
        # writers of one table in turn (other processes still race, and retry).
        self._writer_handles: dict[str, DeltaTable] = {}
        self._writer_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    # --- addressing -----------------------------------------------------------------------------

    def uri(self, name: str | TableName) -> str:
        return f"{self.root}/{TableName.parse(name).relative_path}"

    def exists(self, name: str | TableName) -> bool:
        return DeltaTable.is_deltatable(self.uri(name), storage_options=self.storage_options)

    def tables(self) -> list[TableName]:
        """Every Delta table under the root, sorted by name."""
        found = []
        for folder in table_folders(self.root, self.storage_options, local=self.is_local):
            try:
                found.append(TableName.parse(folder.replace("/", ".")))
            except InvalidNameError:
                logger.warning(
                    "ignoring a folder whose name is not a table name: %s/%s", self.root, folder
                )
        return sorted(found)

    def table(
        self, name: str | TableName, *, version: int | None = None, as_of: datetime | None = None
    ) -> DeltaTable:
        """The `DeltaTable` at its latest version, at `version`, or as it was at time `as_of`."""
        uri = self.uri(name)
        try:
            table = DeltaTable(uri, storage_options=self.storage_options)
        except TableNotFoundError:
            raise NotFoundError(f"Table `{name}` does not exist (looked at `{uri}`).") from None
        if version is not None or as_of is not None:
            target = version if version is not None else as_of
            try:
                table.load_as_version(target)  # type: ignore[arg-type]
            except (DeltaError, ValueError) as exc:
                raise NotFoundError(f"Table `{name}` has no version at {target}: {exc}") from None
        return table

    # --- reading --------------------------------------------------------------------------------

    def version(self, name: str | TableName) -> int:
        return self.table(name).version()

    def has_commit_after(self, name: str | TableName, version: int) -> bool:
        """Whether `name` has a version newer than `version`.

        On a local lake it is one `stat` of the next commit file (a Delta commit is never
        removed while newer ones are read), cheap enough to ask on every read; elsewhere the
        table's log is listed.
        """
        if self.is_local:
            log = Path(self.root) / TableName.parse(name).relative_path / "_delta_log"
            return (log / f"{version + 1:020d}.json").exists()
        return self.version(name) > version

    def schema(self, name: str | TableName) -> pa.Schema:
        """The table's current schema, as Arrow."""
        return _arrow_schema(self.table(name))

    def read(
        self,
        name: str | TableName,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """The table's rows as Arrow, at its latest version or a past one."""
        snapshot = self.table(name, version=version, as_of=as_of)
        return snapshot.to_pyarrow_table(columns=list(columns) if columns else None)

    def dataset(
        self, name: str | TableName, *, version: int | None = None, as_of: datetime | None = None
    ) -> ds.Dataset:
        """A lazy Arrow dataset of one snapshot, for engines that push filters down (DuckDB)."""
        return self.table(name, version=version, as_of=as_of).to_pyarrow_dataset()

    def changes_since(
        self, name: str | TableName, version: int, *, until: int | None = None
    ) -> pa.Table:
        """Rows changed by the commits after `version` (up to `until`), with `_change_type`, `_commit_version`.

        Appends come as `insert`; merges add `update_preimage` / `update_postimage`; deletes
        `delete`. Pass `version=-1` for everything since the table was created.
        """
        table = self.table(name, version=until)
        schema = _arrow_schema(table)
        if table.metadata().configuration.get("delta.enableChangeDataFeed") != "true":
            raise TerminalError(
                f"Table `{name}` does not record its change data feed; set the table property "
                "`delta.enableChangeDataFeed=true` to read it incrementally."
            )
        change_schema = pa.schema([*schema, *_CHANGE_FIELDS])
        if version >= table.version():
            return change_schema.empty_table()
        try:
            changes = pa.table(
                table.load_cdf(starting_version=version + 1, ending_version=table.version())
            )
        except (DeltaError, pa.ArrowInvalid) as exc:
            self._refuse_changes_across_a_layout(name, version, table, exc)
            raise
        return changes.select(change_schema.names).cast(change_schema)

    def _refuse_changes_across_a_layout(
        self, name: str | TableName, version: int, table: DeltaTable, exc: Exception
    ) -> None:
        """delta-rs cannot read the change feed across a commit that changed the partition
        columns (a full refresh adopting a new layout): say so, and what to do."""
        if version < 0:
            return
        before = self.table(name, version=version).metadata().partition_columns
        after = table.metadata().partition_columns
        if before != after:
            raise TerminalError(
                f"`{name}` was laid out anew after version {version} (partitioned by "
                f"{after or 'nothing'}, before by {before or 'nothing'}), and its change feed "
                "cannot be read across that: rebuild the models that read it with "
                "`dataplatform models run --full-refresh`."
            ) from exc

    def transaction_version(self, name: str | TableName, app_id: str) -> int | None:
        """The latest version committed by writer `app_id`, or None if it never wrote."""
        table_name = str(TableName.parse(name))
        with self._writer_locks[table_name]:  # ingestion workers ask before every batch
            handle = self._latest(table_name)
            return None if handle is None else handle.transaction_version(app_id)

    def history(self, name: str | TableName, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp, operation, parameters and metrics."""
        return self.table(name).history(limit)

    # --- writing --------------------------------------------------------------------------------

    def create(
        self,
        name: str | TableName,
        schema: pa.Schema,
        *,
        partition_by: Sequence[str] = (),
        description: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        """Create an empty table, or check that the existing one has `schema`'s columns."""
        schema = _zones_as_utc(schema)
        if self.exists(name):
            _conform(str(name), schema.empty_table(), _arrow_schema(self.table(name)), evolve=False)
            return
        DeltaTable.create(
            self.uri(name),
            schema,
            partition_by=list(partition_by) or None,
            name=str(name),
            description=description,
            configuration={
                **self._properties_for(name, schema),
                **(properties or {}),
            },
            storage_options=self.storage_options,
        )

    @measure_performance("lake.append")
    def append(
        self,
        name: str | TableName,
        data: pa.Table,
        *,
        txn: Txn | Sequence[Txn] | None = None,
        evolve_schema: Evolution = False,
        partition_by: Sequence[str] = (),
        commit_metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Add rows. With `txn`, a replay of an already committed (app_id, version) does nothing."""
        write = self._file_writer(name, "append", partition_by=partition_by)
        return self._commit(name, data, txn, evolve_schema, write, commit_metadata)

    @measure_performance("lake.overwrite")
    def overwrite(
        self,
        name: str | TableName,
        data: pa.Table,
        *,
        predicate: str | None = None,
        txn: Txn | Sequence[Txn] | None = None,
        evolve_schema: Evolution = False,
        commit_metadata: dict[str, str] | None = None,
        partition_by: Sequence[str] | None = None,
    ) -> WriteResult:
        """Replace the whole table, or only the rows matching `predicate` (e.g. `day = '2026-01-02'`).

        With `partition_by`, replacing the whole table also lays it out by those columns when
        it is partitioned otherwise (a model's full refresh adopts its header's new layout).
        """
        relayout = None if predicate is not None else partition_by
        write = self._file_writer(name, "overwrite", predicate=predicate, relayout=relayout)
        return self._commit(name, data, txn, evolve_schema, write, commit_metadata)

    def _file_writer(
        self,
        name: str | TableName,
        mode: Literal["append", "overwrite"],
        *,
        predicate: str | None = None,
        partition_by: Sequence[str] = (),
        relayout: Sequence[str] | None = None,
    ) -> _Write:
        """A `write` for `_commit` that adds the rows as new files; an overwrite of the whole
        table with `relayout` partitions it by those columns if it is not already."""
        # write_deltalake's overloads are per literal mode; one call serves both.
        replacing: dict[str, Any] = {"mode": mode, "predicate": predicate}

        def write(
            target: DeltaTable | str, rows: pa.Table, commit: CommitProperties, adds_columns: bool
        ) -> None:
            schema_mode: Literal["merge", "overwrite"] | None = "merge" if adds_columns else None
            partitions = list(partition_by)
            if (
                relayout is not None
                and isinstance(target, DeltaTable)
                and target.metadata().partition_columns != list(relayout)
            ):
                # Delta changes partition columns only by replacing the schema too.
                schema_mode, partitions = "overwrite", list(relayout)
                logger.info("laying `%s` out anew, partitioned by %s", name, partitions)
            write_deltalake(
                target,
                rows,
                **replacing,
                schema_mode=schema_mode,
                partition_by=partitions or None,
                configuration=self._properties_for(name, rows.schema),  # kept when creating
                storage_options=self.storage_options,
                commit_properties=commit,
            )

        return write

    @measure_performance("lake.merge")
    def merge(
        self,
        name: str | TableName,
        data: pa.Table,
        keys: Sequence[str],
        *,
        deletes: pa.Table | None = None,
        txn: Txn | Sequence[Txn] | None = None,
        evolve_schema: Evolution = False,
        commit_metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Upsert on `keys`: rows whose keys exist replace them, the others are inserted; and
        in the same commit, remove the rows whose keys `deletes` holds (its other columns are
        not read; a key no row has removes nothing).

        Deleted keys write nothing, so they do not pass the guard (removing an erased person's
        row is fine), and the log names columns only, never a key's value.
        """
        _refuse_duplicate_keys(str(name), data, keys)
        removed = _deleted_keys(str(name), data, keys, deletes)
        if removed is not None:  # a key is either kept or deleted, not both
            _refuse_duplicate_keys(
                str(name), pa.concat_tables([data.select(list(keys)), removed]), keys
            )
        if not self.exists(name):  # nothing to delete from
            return self.append(
                name, data, txn=txn, evolve_schema=evolve_schema, commit_metadata=commit_metadata
            )
        # A null key matches its own row, as a grouping does, rather than inserting it again.
        matched = " AND ".join(f"(target.{key} IS NOT DISTINCT FROM source.{key})" for key in keys)

        def write(
            target: DeltaTable | str, rows: pa.Table, commit: CommitProperties, adds_columns: bool
        ) -> None:
            table = _existing(target, name)
            predicate = matched + _partitions_touched(table, keys, [rows, removed])
            if removed is None:
                _upsert(table, rows, predicate, commit, merge_schema=adds_columns)
                return
            if adds_columns:  # merge_schema would add the delete flag to the table too
                _add_new_columns(table, rows.schema)
            _upsert_and_delete(table, _flagged(rows, removed), predicate, commit)

        return self._commit(name, data, txn, evolve_schema, write, commit_metadata)

    @measure_performance("lake.delete")
    def delete(
        self, name: str | TableName, predicate: str, *, txn: Txn | Sequence[Txn] | None = None
    ) -> WriteResult:
        """Remove the rows matching `predicate`; returns how many were removed as `rows`."""
        removed = 0

        def write(
            target: DeltaTable | str, _: pa.Table, commit: CommitProperties, __: bool
        ) -> None:
            nonlocal removed
            metrics = _existing(target, name).delete(predicate, commit_properties=commit)
            removed = int(metrics.get("num_deleted_rows", 0))

        result = self._commit(name, None, txn, False, write, None)
        return WriteResult(result.table, result.version, removed, result.skipped)

    @retry(attempts=_WRITE_ATTEMPTS, initial_seconds=0.02, max_seconds=1.0)
    def _commit(
        self,
        name: str | TableName,
        data: pa.Table | None,
        txn: Txn | Sequence[Txn] | None,
        evolve_schema: Evolution,
        write: _Write,
        commit_metadata: dict[str, str] | None,
    ) -> WriteResult:
        """Conform `data`, check `txn`, and run `write`; conflicts surface as retryable errors.

        `write` commits on top of the very snapshot whose transaction version was checked, so a
        concurrent commit of the same transaction makes ours conflict instead of duplicating it.
        """
        table_name = str(TableName.parse(name))
        with self._writer_locks[table_name]:
            existing = self._latest(table_name)
            txns = [txn] if isinstance(txn, Txn) else list(txn or ())
            if txns and existing is not None and _already_committed(existing, txns, table_name):
                logger.info("skipped replayed write", extra={"table": table_name, "txns": txns})
                return WriteResult(table_name, existing.version(), 0, skipped=True)
            table_schema = None if existing is None else _arrow_schema(existing)
            rows = self._admitted(table_name, data, table_schema, evolve_schema)
            adds_columns = bool(
                rows is not None
                and table_schema is not None
                and set(rows.schema.names) - set(table_schema.names)
            )
            commit = CommitProperties(
                custom_metadata=commit_metadata,
                app_transactions=[Transaction(t.app_id, t.version) for t in txns] or None,
                max_commit_retries=_TRANSACTIONAL_COMMIT_RETRIES if txns else None,
            )
            target = existing if existing is not None else self.uri(table_name)
            before = -1 if existing is None else existing.version()
            _run_write(table_name, write, target, rows, commit, adds_columns)
            written = existing if existing is not None else self._latest(table_name)
            version = written.version() if written is not None else -1
            return WriteResult(
                table_name,
                version,
                0 if rows is None else rows.num_rows,
                nothing_changed=version == before,
            )

    def _admitted(
        self,
        table_name: str,
        data: pa.Table | None,
        table_schema: pa.Schema | None,
        evolve_schema: Evolution,
    ) -> pa.Table | None:
        """The rows to commit: in UTC, past the guard, cast to `table_schema` (the writer
        handle's, so deciding on new columns costs no further read of the log)."""
        rows = None if data is None else _in_utc(data)
        if rows is not None and self.guard is not None:
            rows = self.guard.admit(table_name, rows)
        if rows is not None and table_schema is not None:
            rows = _conform(table_name, rows, table_schema, evolve=evolve_schema)
        return rows

    def _latest(self, table_name: str) -> DeltaTable | None:
        """This process's writer handle of the table, brought up to date; None if no table."""
        handle = self._writer_handles.get(table_name)
        if handle is not None:
            handle.update_incremental()
            return handle
        uri = self.uri(table_name)
        if not DeltaTable.is_deltatable(uri, storage_options=self.storage_options):
            return None
        handle = DeltaTable(uri, storage_options=self.storage_options)
        self._writer_handles[table_name] = handle
        return handle

    # --- maintenance ----------------------------------------------------------------------------

    def compact(self, name: str | TableName) -> dict[str, Any]:
        """Rewrite small files into larger ones; returns delta-rs's metrics."""
        return self.table(name).optimize.compact()

    def vacuum(
        self,
        name: str | TableName,
        *,
        retention_hours: int | None = None,
        keep_versions: Iterable[int] = (),
        dry_run: bool = False,
    ) -> list[str]:
        """Delete files no longer referenced by versions within the retention or in `keep_versions`.

        The retention may not go below the table's `delta.deletedFileRetentionDuration`
        (7 days unless the table says otherwise), so readers of recent versions are never broken.
        """
        return self._vacuum(
            name,
            retention_hours=retention_hours,
            dry_run=dry_run,
            enforce_retention_duration=True,
            keep_versions=sorted(set(keep_versions)) or None,
        )

    @retry(attempts=_WRITE_ATTEMPTS, initial_seconds=0.02, max_seconds=1.0)
    def _vacuum(self, name: str | TableName, **options: Any) -> list[str]:
        """Vacuum, again after losing a race: its log entries conflict with a concurrent overwrite
        (a model's replace), and the files it removes are only those no version needs."""
        try:
            return list(self.table(name).vacuum(**options))
        except CommitFailedError as exc:
            raise CommitConflictError(f"Vacuum of `{name}` lost a race: {exc}") from exc
        except DeltaError as exc:
            raise TerminalError(f"Cannot vacuum `{name}`: {exc}") from None

    def keep_out_of_statistics(self, name: str | TableName) -> bool:
        """Set the table's statistics columns to leave out the guard's unindexed columns (for
        tables created before the guard knew them); whether the property changed.

        Files written from then on carry no min/max of those columns; older files keep theirs.
        """
        wanted = self._statistics_properties(name, self.schema(name))
        table = self.table(name)
        current = table.metadata().configuration
        if all(current.get(key) == value for key, value in wanted.items()):
            return False
        table.alter.set_table_properties(wanted, raise_if_not_exists=False)
        return True

    def _properties_for(self, name: str | TableName, schema: pa.Schema) -> dict[str, str]:
        return {**_TABLE_PROPERTIES, **self._statistics_properties(name, schema)}

    def _statistics_properties(self, name: str | TableName, schema: pa.Schema) -> dict[str, str]:
        """Delta's statistics columns: every column but the guard's unindexed ones."""
        hidden = set() if self.guard is None else self.guard.unindexed_columns(str(name))
        if not hidden & set(schema.names):
            return {}
        kept = [column for column in schema.names if column not in hidden]
        if not kept:
            return {_STATISTICS_WIDTH: "0"}
        return {_STATISTICS_COLUMNS: ",".join(f"`{column}`" for column in kept)}

    def staged(self, rows: Mapping[str, pa.Table]) -> AbstractContextManager[dict[str, str]]:
        """Each of `rows` as a Parquet file under the lake's root, outside any table, while the
        context lasts: name -> URI (see `_staging.py`)."""
        return staged_files(self.root, self.storage_options, rows)

    def checkpoint(self, name: str | TableName) -> None:
        """Write a checkpoint so readers replay fewer log files, and drop expired log entries."""
        table = self.table(name)
        table.create_checkpoint()
        table.cleanup_metadata()

    def restore(self, name: str | TableName, version: int) -> None:
        """Make `version` the table's latest state again, as a new commit."""
        self.table(name).restore(version)

    # --- history: rows gone from every version kept (see `_history.py`) ------------------------

    def files_holding(
        self, name: str | TableName, matches: RowMatcher, columns: Iterable[str]
    ) -> list[str]:
        """Data and change-data files of any version still stored with a row `matches` picks."""
        return files_holding(self._files(name), matches, columns)

    def files_naming(self, name: str | TableName, texts: Iterable[str]) -> FilesNaming:
        """The table's data, change-data and log files in which any text value holds one of
        `texts`."""
        return files_naming(self._files(name), texts)

    def scrub_change_data(
        self, name: str | TableName, matches: RowMatcher, *, version: int | None = None
    ) -> Scrubbed:
        """Rewrite the change-data files (those the commit of `version` wrote, or all of them)
        without the rows `matches` picks, keeping every version's change feed readable."""
        files = self._files(name)
        paths = (
            files.change_data_files() if version is None else commit_change_files(files, version)
        )
        return scrub_change_data(files, paths, matches)

    def purge_history(
        self, name: str | TableName, matches: RowMatcher, *, naming: Iterable[str]
    ) -> Purged:
        """Make rows already deleted unreadable in every version kept: vacuum the files of every
        older version (no retention), rewrite the change-data files without the rows `matches`
        picks, drop the log's file statistics naming any of `naming`, and write a checkpoint.

        Time travel to before the purge ends; the change feed stays readable from the latest
        version on. Safe to run again, and to run again after it was interrupted.
        """
        files = self._files(name)
        before = set(files.data_files())
        # `vacuum` keeps the table's retention (7 days); a purge may not wait.
        self._vacuum(name, retention_hours=0, enforce_retention_duration=False, dry_run=False)
        # Counted from storage: delta-rs lists every tombstone, removed by an earlier run or not.
        vacuumed = len(before - set(files.data_files()))
        scrubbed = scrub_change_data(files, files.change_data_files(), matches)
        log_scrubbed = scrub_log(files, naming)
        self.checkpoint(name)
        return Purged(vacuumed, scrubbed.files, scrubbed.rows, log_scrubbed)

    def _files(self, name: str | TableName) -> TableFiles:
        return TableFiles(self.uri(name), self.storage_options)


def _run_write(
    table_name: str,
    write: _Write,
    target: DeltaTable | str,
    rows: pa.Table | None,
    commit: CommitProperties,
    adds_columns: bool,
) -> None:
    """Run `write`, turning a lost race into a retryable conflict."""
    try:
        write(target, rows, commit, adds_columns)
    except CommitFailedError as exc:
        raise CommitConflictError(f"Commit to `{table_name}` lost a race: {exc}") from exc
    except DeltaError as exc:
        if isinstance(target, str) and "already exists" in str(exc).lower():
            # Another process created the table between our check and our write.
            raise CommitConflictError(f"`{table_name}` was created concurrently") from exc
        raise


def _upsert(
    table: DeltaTable,
    rows: pa.Table,
    predicate: str,
    commit: CommitProperties,
    *,
    merge_schema: bool,
) -> None:
    (
        table.merge(
            rows,
            predicate=predicate,
            source_alias="source",
            target_alias="target",
            merge_schema=merge_schema,
            commit_properties=commit,
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )


def _partitions_touched(
    table: DeltaTable, keys: Sequence[str], batches: Sequence[pa.Table | None]
) -> str:
    """` AND target.day IN (...)` for each partition column among the merge keys: delta-rs does
    not narrow a merge to the source's partitions by itself, so without it every file of the
    target is opened to look for matches, and a tick's merge costs the table's history."""

    def distinct(column: str) -> list[object]:
        chunks = [batch[column] for batch in batches if batch is not None and batch.num_rows]
        if not chunks:
            return []
        values = pa.chunked_array([chunk.cast(chunks[0].type) for chunk in chunks])
        return list(pc.unique(values).to_pylist())

    return partition_narrowing(
        table.metadata().partition_columns, keys, distinct, _datafusion_literal
    )


def partition_narrowing(
    partition_columns: Sequence[str],
    keys: Sequence[str],
    distinct: Callable[[str], Sequence[object]],
    literal: Callable[[str], str],
) -> str:
    """` AND target.<column> IN (...)` for each partition column, from the source's `distinct`
    values of it, each written by `literal` (the SQL dialect's string literal), with ` OR
    target.<column> IS NULL` when a value is null (the keys then match null-safely); "" (every
    file is opened) when a partition column is not a merge key (a key's rows may sit in any
    partition), the source is empty, or a value is of a type with no literal here."""
    narrowing = ""
    for column in partition_columns:
        if column not in keys:
            return ""
        values = distinct(column)
        literals = [_partition_literal(value, literal) for value in values if value is not None]
        if not values or None in literals:
            return ""
        kept = [f"target.{column} IN ({', '.join(map(str, literals))})"] if literals else []
        if len(literals) < len(values):
            kept.append(f"target.{column} IS NULL")
        narrowing += f" AND ({' OR '.join(kept)})"
    return narrowing


def _partition_literal(value: object, literal: Callable[[str], str]) -> str | None:
    if isinstance(value, bool | datetime):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return literal(value.isoformat())
    if isinstance(value, str):
        return literal(value)
    return None


def _datafusion_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _upsert_and_delete(
    table: DeltaTable, source: pa.Table, predicate: str, commit: CommitProperties
) -> None:
    """One merge: flagged rows remove their match and insert nothing, the others upsert."""
    flag = f"source.{_DELETE_FLAG}"
    (
        table.merge(
            source,
            predicate=predicate,
            source_alias="source",
            target_alias="target",
            commit_properties=commit,
        )
        .when_matched_delete(predicate=flag)
        .when_matched_update_all()
        .when_not_matched_insert_all(predicate=f"not {flag}")
        .execute()
    )


def _deleted_keys(
    name: str, data: pa.Table, keys: Sequence[str], deletes: pa.Table | None
) -> pa.Table | None:
    """The key columns of `deletes`, typed as `data`'s; None when there is nothing to delete."""
    if deletes is None or deletes.num_rows == 0:
        return None
    missing = [key for key in keys if key not in deletes.schema.names]
    if missing:
        raise SchemaMismatchError(
            f"The keys deleted from `{name}` have no column `{missing[0]}`; give every merge "
            f"key {list(keys)}."
        )
    return pa.table({key: deletes[key].cast(data.schema.field(key).type) for key in keys})


def _flagged(rows: pa.Table, removed: pa.Table) -> pa.Table:
    """The merge's source: `rows` flagged kept, then `removed`'s keys (other columns null)
    flagged deleted."""
    schema = pa.schema(
        [field.with_nullable(True) for field in rows.schema]
        + [pa.field(_DELETE_FLAG, pa.bool_(), nullable=False)]
    )
    kept = rows.append_column(_DELETE_FLAG, pa.repeat(pa.scalar(False), rows.num_rows))
    gone = pa.table(
        [
            removed[field.name].cast(field.type)
            if field.name in removed.schema.names
            else pa.nulls(removed.num_rows, field.type)
            for field in rows.schema
        ]
        + [pa.repeat(pa.scalar(True), removed.num_rows)],
        names=schema.names,
    )
    return pa.concat_tables([kept.cast(schema), gone.cast(schema)])


def _add_new_columns(table: DeltaTable, schema: pa.Schema) -> None:
    """Add the columns of `schema` the table lacks (a metadata-only commit)."""
    present = set(_arrow_schema(table).names)
    new = pa.schema([field for field in schema if field.name not in present])
    table.alter.add_columns(list(Schema.from_arrow(new).fields))


def _already_committed(table: DeltaTable, txns: Sequence[Txn], name: str) -> bool:
    """True when every txn is already in the table; refuses a write only some of it holds."""
    done = [(table.transaction_version(t.app_id) or -1) >= t.version for t in txns]
    if all(done):
        return True
    if any(done):
        held = [t for t, is_done in zip(txns, done, strict=True) if is_done]
        raise TerminalError(
            f"`{name}` already holds {held} but not the rest of this write; drop the rows of "
            "the committed transactions before writing the others."
        )
    return False


def _zones_as_utc(schema: pa.Schema) -> pa.Schema:
    """Zoned timestamps labelled UTC, the one zone Delta stores (DuckDB says `Etc/UTC`).

    Arrow keeps zoned timestamps as UTC instants, so this changes the label, not the values.
    """
    return pa.schema(
        field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        if pa.types.is_timestamp(field.type) and field.type.tz not in (None, "UTC")
        else field
        for field in schema
    )


def _in_utc(data: pa.Table) -> pa.Table:
    schema = _zones_as_utc(data.schema)
    return data if schema.equals(data.schema) else data.cast(schema)


def _existing(target: DeltaTable | str, name: str | TableName) -> DeltaTable:
    if isinstance(target, str):
        raise NotFoundError(f"Table `{name}` does not exist; write rows to it first.")
    return target


def _arrow_schema(table: DeltaTable) -> pa.Schema:
    return pa.schema(table.schema().to_arrow())


def _delta_type(field: pa.Field) -> Any:
    return Schema.from_arrow(pa.schema([field])).fields[0].type


def _type_name(delta_type: Any) -> str:
    return str(delta_type.to_json()).strip('"')


def _conform(name: str, data: pa.Table, table_schema: pa.Schema, *, evolve: Evolution) -> pa.Table:
    """Cast `data` to the table's schema, refusing type changes and new columns `evolve` does
    not allow."""
    new_columns = [field for field in data.schema if field.name not in table_schema.names]
    refused = [
        field
        for field in new_columns
        if evolve is not True and (evolve is False or field.name not in evolve)
    ]
    if refused:
        listed = ", ".join(f"`{field.name}`" for field in refused)
        raise SchemaMismatchError(
            f"Table `{name}` has no column {listed}; pass evolve_schema=True to add it, "
            "or drop it from the data."
        )
    columns, fields = [], []
    for field in table_schema:
        if field.name not in data.schema.names:
            if not field.nullable:
                raise SchemaMismatchError(
                    f"Column `{field.name}` of `{name}` is required (not null) but missing from the data."
                )
            columns.append(pa.nulls(data.num_rows, field.type))
            fields.append(field)
            continue
        incoming = data.schema.field(field.name)
        if _delta_type(incoming) != _delta_type(field):
            raise SchemaMismatchError(
                f"Column `{field.name}` of `{name}` is {_type_name(_delta_type(field))} in the "
                f"table but {_type_name(_delta_type(incoming))} in the data; cast the data, or "
                "write a new column (types never change in place)."
            )
        columns.append(data.column(field.name).cast(field.type))
        fields.append(field)
    for field in new_columns:
        columns.append(data.column(field.name))
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _refuse_duplicate_keys(name: str, data: pa.Table, keys: Sequence[str]) -> None:
    missing = [key for key in keys if key not in data.schema.names]
    if missing:
        raise SchemaMismatchError(
            f"Merge key `{missing[0]}` is not a column of the data for `{name}`."
        )
    counts = data.group_by(list(keys)).aggregate([([], "count_all")])
    duplicated = counts.filter(pc.greater(counts["count_all"], 1))
    if duplicated.num_rows:
        first = {key: duplicated[key][0].as_py() for key in keys}
        raise SchemaMismatchError(
            f"Data merged into `{name}` has {duplicated.num_rows} duplicated key(s), "
            f"first {first}; deduplicate on {list(keys)} before merging."
        )
