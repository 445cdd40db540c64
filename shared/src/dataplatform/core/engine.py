"""DuckDB over the files of Delta snapshots.

A snapshot is read through the files its Delta log lists, never as an Arrow dataset. The log
gives each file's partition values and min/max statistics, so a query that names the range it
asks for on a column (`within`) skips the files that cannot hold a row of it, and DuckDB's own
parquet reader reads the rest. No Arrow filter is pushed down: pyarrow cannot compare a string
filter with the statistics of files delta-rs's merge and delete wrote as `string_view`
(delta-rs issue 4579), DuckDB's reader has no such problem.

Each thread gets its own in-memory DuckDB connection (a connection must not be shared between
threads), with its time zone UTC: zoned timestamps are served as naive UTC.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dataplatform.core.connectors.lakehouse import Lakehouse, TableName
from dataplatform.core.errors import TerminalError, did_you_mean

if TYPE_CHECKING:
    import duckdb
    from deltalake import DeltaTable

# The first and last value a column may take, both included; None leaves that end open.
Bounds = tuple[Any, Any]
# A query's bounds on the columns of one table.
Within = Mapping[str, Bounds]


@dataclass(frozen=True)
class SnapshotFiles:
    """One version of a table as its Delta log lists it: its schema and its data files."""

    name: str
    version: int
    uri: str
    schema: pa.Schema
    partition_columns: tuple[str, ...]
    # One row per file (delta-rs's flattened add actions): `path`, `num_records`,
    # `partition.<column>`, `min.<column>`, `max.<column>`.
    files: pa.Table
    local: bool
    # How to reach the files when they are not local (the lake's delta-rs storage options).
    storage_options: dict[str, str] | None = None

    @property
    def paths(self) -> list[str]:
        """Where each file is: a local path, or the path relative to the table for a store."""
        relative = [unquote(path) for path in self.files.column("path").to_pylist()]
        return [f"{self.uri}/{path}" for path in relative] if self.local else relative

    def within(self, bounds: Within) -> "SnapshotFiles":
        """The files that may hold a row whose columns are inside `bounds`; the rest are skipped."""
        keep = pa.array([True] * self.files.num_rows, pa.bool_())
        for column, (first, last) in bounds.items():
            keep = pc.and_(keep, self._may_hold(column, first, last))
        return SnapshotFiles(
            self.name,
            self.version,
            self.uri,
            self.schema,
            self.partition_columns,
            self.files.filter(keep),
            self.local,
            self.storage_options,
        )

    def _may_hold(self, column: str, first: Any, last: Any) -> pa.ChunkedArray:
        if column not in self.schema.names:
            raise TerminalError(
                f"`within` names column `{column}`, which `{self.name}` does not have; it has "
                f"{', '.join(self.schema.names)}.{did_you_mean(column, self.schema.names)}"
            )
        if column in self.partition_columns:
            low = high = self.files.column(f"partition.{column}")
        elif f"min.{column}" in self.files.column_names:
            low, high = self.files.column(f"min.{column}"), self.files.column(f"max.{column}")
        else:  # no statistics on this column (a person column, say): any file may hold it
            return pa.chunked_array([pa.array([True] * self.files.num_rows, pa.bool_())])
        below = _compare(pc.less, high, first, column)
        above = _compare(pc.greater, low, last, column)
        # A file without statistics (null min/max) may hold anything; a null partition nothing.
        no_stats = pc.is_null(low) if column not in self.partition_columns else None
        may = pc.invert(pc.or_(below, above))
        may = pc.fill_null(may, column not in self.partition_columns)
        return may if no_stats is None else pc.or_(may, no_stats)

    def bind(self, connection: "duckdb.DuckDBPyConnection", view: str) -> None:
        """Make `view` on `connection` this snapshot's rows: every column of its schema in
        order, zoned timestamps as naive UTC, read from its files only."""
        columns = f"{view}__columns"
        connection.register(columns, self.schema.empty_table())
        types = dict(zip(self.schema.names, connection.table(columns).dtypes, strict=True))
        sources = [
            f"select * from {_quoted(columns)}",
            *self._file_sources(connection, view, types),
        ]
        connection.execute(
            f"create or replace temp view {_quoted(view)} as select {_projection(self.schema)} "
            f"from ({' union all by name '.join(sources)})"
        )

    def _file_sources(
        self, connection: "duckdb.DuckDBPyConnection", view: str, types: Mapping[str, Any]
    ) -> list[str]:
        if not self.files.num_rows:
            return []
        if not self.local:  # no object store in DuckDB here: the kept files come through Arrow
            rows = f"{view}__rows"
            connection.register(rows, self._read_through_arrow())
            return [f"select * from {_quoted(rows)}"]
        groups: dict[tuple[Any, ...], list[str]] = {}
        values = [self.files.column(f"partition.{c}").to_pylist() for c in self.partition_columns]
        for index, path in enumerate(self.paths):
            groups.setdefault(tuple(v[index] for v in values), []).append(path)
        return [
            f"select *{_partition_literals(self.partition_columns, key, types)} "
            f"from read_parquet([{', '.join(_string(p) for p in paths)}], union_by_name = true, "
            # The partition values come from the log above, not from DuckDB reading the paths.
            "hive_partitioning = false)"
            for key, paths in groups.items()
        ]

    def _read_through_arrow(self) -> pa.Table:
        from deltalake import DeltaTable

        table = DeltaTable(self.uri, version=self.version, storage_options=self.storage_options)
        dataset = table.to_pyarrow_dataset()
        kept = set(self.paths)
        fragments = [f for f in dataset.get_fragments() if _relative(f.path, self.uri) in kept]
        return ds.FileSystemDataset(
            fragments, dataset.schema, dataset.format, dataset.filesystem
        ).to_table()

    def unbind(self, connection: "duckdb.DuckDBPyConnection", view: str) -> None:
        """Undo `bind`."""
        connection.execute(f"drop view if exists {_quoted(view)}")
        for name in (f"{view}__columns", f"{view}__rows"):
            connection.unregister(name)  # a name never registered is no error


def snapshot_files(lake: Lakehouse, handle: "DeltaTable", name: str) -> SnapshotFiles:
    """The files of the version `handle` is at, as `name`'s log lists them."""
    files = pa.table(handle.get_add_actions(flatten=True))
    return SnapshotFiles(
        name=name,
        version=handle.version(),
        uri=lake.uri(name),
        schema=pa.schema(handle.schema().to_arrow()),
        partition_columns=tuple(handle.metadata().partition_columns),
        files=files,
        local=lake.is_local,
        storage_options=lake.storage_options,
    )


def _compare(op: Any, values: pa.ChunkedArray, bound: Any, column: str) -> pa.ChunkedArray:
    """`op(values, bound)`; all false when the bound is open (None)."""
    if bound is None:
        return pa.chunked_array([pa.array([False] * len(values), pa.bool_())])
    if isinstance(bound, datetime) and bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)  # the platform's naive times are UTC
    try:
        scalar = pa.scalar(bound).cast(values.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise TerminalError(
            f"`within` bound {bound!r} does not compare with column `{column}` ({values.type}): "
            f"{error}; give a value of the column's type."
        ) from None
    result: pa.ChunkedArray = op(values, scalar)
    return result


def _projection(schema: pa.Schema) -> str:
    return ", ".join(
        f"cast({_quoted(f.name)} as timestamp) as {_quoted(f.name)}"
        if pa.types.is_timestamp(f.type) and f.type.tz is not None
        else _quoted(f.name)
        for f in schema
    )


def _partition_literals(
    columns: tuple[str, ...], values: tuple[Any, ...], types: Mapping[str, Any]
) -> str:
    """`, <value> as <column>` for each partition column: Parquet files do not hold them."""
    return "".join(
        f", cast({'null' if value is None else _string(_text(value))} as {types[column]}) "
        f"as {_quoted(column)}"
        for column, value in zip(columns, values, strict=True)
    )


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relative(path: str, uri: str) -> str:
    return path.removeprefix(uri.split("://", 1)[-1]).lstrip("/")


class QueryEngine:
    """Runs DuckDB SQL over the tables of one lakehouse."""

    def __init__(self, lake: Lakehouse) -> None:
        self.lake = lake
        self._local = threading.local()

    def connection(self) -> "duckdb.DuckDBPyConnection":
        """This thread's DuckDB connection, opened on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = new_connection()
        return connection

    def snapshot(
        self, name: str | TableName, *, version: int | None = None, as_of: datetime | None = None
    ) -> SnapshotFiles:
        """The files of one snapshot of a table: the latest, `version`, or as it was at `as_of`."""
        handle = self.lake.table(name, version=version, as_of=as_of)
        return snapshot_files(self.lake, handle, str(TableName.parse(name)))

    def relation(
        self, name: str | TableName, *, version: int | None = None, as_of: datetime | None = None
    ) -> "duckdb.DuckDBPyRelation":
        """A DuckDB relation over one snapshot of a table (a view of this thread's connection,
        kept until `close`: it holds the file list, not the rows)."""
        files = self.snapshot(name, version=version, as_of=as_of)
        view = f"{files.name}@{files.version}"
        files.bind(self.connection(), view)
        return self.connection().table(_quoted(view))

    def query(
        self,
        sql: str,
        tables: Mapping[str, str | TableName],
        parameters: list[Any] | Mapping[str, Any] | None = None,
        *,
        within: Mapping[str, Within] | None = None,
    ) -> pa.Table:
        """Run `sql` with each alias in `tables` bound to the latest snapshot of that table,
        reading only the files that may hold rows inside `within` (alias -> column bounds).

        engine.query("select count(*) as n from events", {"events": "web_user_analytics.bronze.clickstream"})
        """
        snapshots = {alias: self.snapshot(name) for alias, name in tables.items()}
        return run_query(self.connection(), sql, pruned(snapshots, within or {}), parameters)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


_database: list["duckdb.DuckDBPyConnection"] = []
_database_lock = threading.Lock()


def new_connection() -> "duckdb.DuckDBPyConnection":
    """A connection to this process's in-memory DuckDB database, its session zone UTC (the
    zone of every stored time). One database for all: its buffers and threads are shared, not
    multiplied by the threads that query."""
    with _database_lock:
        if not _database:
            import duckdb

            _database.append(duckdb.connect())
        connection = _database[0].cursor()
    connection.execute("set TimeZone = 'UTC'")
    return connection


def pruned(
    snapshots: Mapping[str, SnapshotFiles], within: Mapping[str, Within]
) -> dict[str, SnapshotFiles]:
    """Each alias's snapshot with only the files that may hold rows inside its `within` bounds."""
    unknown = sorted(set(within) - set(snapshots))
    if unknown:
        raise TerminalError(
            f"`within` names `{unknown[0]}`, which is not a table of the query; its tables are "
            f"{', '.join(snapshots)}.{did_you_mean(unknown[0], snapshots)}"
        )
    return {alias: files.within(within.get(alias, {})) for alias, files in snapshots.items()}


def run_query(
    connection: "duckdb.DuckDBPyConnection",
    sql: str,
    snapshots: Mapping[str, SnapshotFiles],
    parameters: list[Any] | Mapping[str, Any] | None,
) -> pa.Table:
    """`sql` with each alias bound to the files of its snapshot, read by DuckDB."""
    try:
        for alias, files in snapshots.items():
            files.bind(connection, alias)
        return connection.sql(sql, params=parameters).to_arrow_table()
    finally:
        for alias, files in snapshots.items():
            files.unbind(connection, alias)
