"""Sorting a clustered table's files by its key, so that a lookup of a few keys reads a few row
groups (`read_keys`).

delta-rs's Z-order is no sort, not even on one column: it orders rows by the first 16 bytes of
each value's row encoding, so ids longer than that which share a prefix come out in any order.
Here the files of a partition not sorted yet (or, `whole`, all of a partition holding one) are
read, sorted by the key in DuckDB (which spills to disk past its memory limit), written by
delta-rs's own writer in row groups of `ROW_GROUP_ROWS` rows with the table's statistics
columns, and committed in place of the files they came from as a rearrangement
(`dataChange=false`): change-feed readers see no row, an append beside it keeps its rows, and a
merge or delete that rewrote one of the same files makes the commit fail, to be tried again on
the new version. A partition may so hold a few sorted runs; a lookup reads about one row group
per key of each.
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from posixpath import basename, dirname
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake._internal import DeltaFileSystemHandler
from deltalake.transaction import AddAction, RemoveAction

from dataplatform.core.connectors.lakehouse._files import LOG_FOLDER

# Measured on web silver.session_state (benchmarks/products.py): a lookup reads about one row
# group per key, so smaller groups read less; much smaller ones make footers and full scans
# slower.
ROW_GROUP_ROWS = 8_192
# Files this rewrite wrote start with it: a partition of only such files is sorted already.
SORTED_PREFIX = "sorted-"
# The table properties that say which columns the log's statistics cover: kept on the new files.
_STATISTICS_PROPERTIES = ("delta.dataSkippingStatsColumns", "delta.dataSkippingNumIndexedCols")
# Sorting a partition's rows holds at most this much in memory; the rest spills to disk.
_SORT_MEMORY = "1GB"
# Rows per file written: one batch of sorted rows in memory at a time.
_FILE_ROWS = 524_288


@dataclass(frozen=True)
class _File:
    path: str  # as the log writes it (percent-encoded)
    size: int

    @property
    def folder(self) -> str:
        """The partition's folder (`day=2026-01-02`), empty for an unpartitioned table."""
        return dirname(self.path)


def is_sorted(path: str) -> bool:
    """Whether the data file at `path` (as the log names it) was written sorted here."""
    return basename(path).startswith(SORTED_PREFIX)


def sort_by_key(
    table: DeltaTable, column: str, storage_options: dict[str, str] | None, *, whole: bool
) -> int:
    """Rewrite the files of `table` (at its loaded version) not sorted yet, sorted by `column`
    partition by partition; with `whole`, every file of a partition holding one, so that the
    partition is one sorted run again. How many files were replaced (0: all were sorted).

    Raises delta-rs's `CommitFailedError` when a writer rewrote one of the files meanwhile."""
    partitions: dict[str, list[_File]] = {}
    for file in _files(table):
        partitions.setdefault(file.folder, []).append(file)
    unsorted = [
        files if whole else [file for file in files if not is_sorted(file.path)]
        for files in partitions.values()
        if not all(is_sorted(file.path) for file in files)
    ]
    if not unsorted:
        return 0
    uri = table.table_uri.rstrip("/")  # an object store's ends with one
    store = DeltaFileSystemHandler(uri, options=storage_options)
    scratch = f"_sorting-{uuid.uuid4().hex}"
    try:
        for files in unsorted:
            _write_sorted(table, files, column, f"{uri}/{scratch}", storage_options)
        added = _moved_in(store, scratch)
    finally:
        store.delete_dir(scratch)
    replaced = [file for files in unsorted for file in files]
    removed_at = int(datetime.now(UTC).timestamp() * 1000)
    table.create_write_transaction(
        [
            *added,
            *(RemoveAction(file.path, False, removed_at, file.size) for file in replaced),
        ],
        mode="append",
        schema=table.schema(),
        partition_by=table.metadata().partition_columns,
        commit_properties=CommitProperties(custom_metadata={"sortedBy": column}),
    )
    return len(replaced)


def _files(table: DeltaTable) -> list[_File]:
    actions = pa.table(table.get_add_actions(flatten=True))
    return [
        _File(path, size)
        for path, size in zip(
            actions["path"].to_pylist(), actions["size_bytes"].to_pylist(), strict=True
        )
    ]


def _write_sorted(
    table: DeltaTable,
    files: list[_File],
    column: str,
    scratch_uri: str,
    storage_options: dict[str, str] | None,
) -> None:
    """Write the rows of `files` (one partition) sorted by `column` into a scratch table, with
    the table's partitioning and statistics columns."""
    import duckdb

    dataset = table.to_pyarrow_dataset()
    wanted = {unquote(file.path) for file in files}
    fragments = [f for f in dataset.get_fragments() if unquote(f.path) in wanted]
    rows = ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
    configuration = table.metadata().configuration
    connection = duckdb.connect(config={"memory_limit": _SORT_MEMORY})
    try:
        connection.execute("set TimeZone = 'UTC'")
        connection.register("unsorted", rows)
        quoted = '"' + column.replace('"', '""') + '"'
        sorted_rows = connection.sql(f"select * from unsorted order by {quoted} nulls last")
        # delta-rs writes the batches of one write in any order, and one batch in its order:
        # each file is one batch of the sorted rows (its zoned times cast back from DuckDB's).
        for batch in sorted_rows.to_arrow_reader(_FILE_ROWS):
            write_deltalake(
                scratch_uri,
                pa.Table.from_batches([batch.cast(dataset.schema)]),
                mode="append",
                partition_by=table.metadata().partition_columns or None,
                configuration={
                    key: configuration[key]
                    for key in _STATISTICS_PROPERTIES
                    if key in configuration
                },
                storage_options=storage_options,
                writer_properties=WriterProperties(max_row_group_size=ROW_GROUP_ROWS),
            )
    finally:
        connection.close()


def _moved_in(store: DeltaFileSystemHandler, scratch: str) -> list[AddAction]:
    """Move the scratch table's files into the table's own folders, each named as sorted, and
    give the log entries that add them (delta-rs's statistics of each, unchanged)."""
    added = []
    for entry in _log_entries(store, scratch):
        if "add" not in entry:
            continue
        add = entry["add"]
        path = f"{dirname(add['path'])}/{SORTED_PREFIX}{basename(add['path'])}".lstrip("/")
        store.move_file(f"{scratch}/{unquote(add['path'])}", unquote(path))
        added.append(
            AddAction(
                path,
                int(add["size"]),
                add.get("partitionValues") or {},
                int(add["modificationTime"]),
                False,
                add.get("stats") or "",
            )
        )
    return added


def _log_entries(store: DeltaFileSystemHandler, scratch: str) -> Iterator[dict[str, Any]]:
    infos = store.get_file_info_selector(f"{scratch}/{LOG_FOLDER}", True, True)
    for info in sorted(infos, key=lambda info: info.path):
        if not info.path.endswith(".json"):
            continue
        with pa.PythonFile(store.open_input_file(info.path), mode="r") as commit:
            text = commit.read().decode()
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)
