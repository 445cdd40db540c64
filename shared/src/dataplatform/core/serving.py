"""What a product's API needs to answer from its tables: the lake, the files a query needs,
a bounded cache of answers, JSON out.

The platform puts a `Lakehouse` and a `TableSnapshots` on the app (`app.state.lake`,
`app.state.tables`); routes reach them through `lake_of` and `snapshots_of`. Every product also
publishes its gold tables read-only through `published_tables_router`, paged with a cursor that
pins the table version, so paging through a table that grows never skips or repeats a row.

A product's own endpoints answer with DuckDB SQL over the tables' files (`gold_rows`,
`gold_page`); `within` names the range a query asks for, so only files that may hold it are read:

    page = await gold_page(request, caller,
        "select * from s where started_at >= $start and started_at < $end order by started_at",
        tables={"s": "web_user_analytics.gold.sessions"}, params={"start": start, "end": end},
        limit=limit, cursor=cursor, within={"s": {"started_at": (start, end)}})

A query of one key's rows (a user's sessions) names its `keys` instead: only the Parquet row
groups holding them are read (`read_keys`), wherever the table's files put them:

    page = await gold_page(request, caller, "select * from s where user_id = $user order by ...",
        tables={"s": "web_user_analytics.gold.sessions"}, params={"user": user_id},
        limit=limit, cursor=cursor, keys={"s": ("user_id", [user_id])})

Parameters are named (`$user` with a mapping), so a value used twice is given once; positional
`?` with a sequence work too.
"""

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import unquote

import anyio
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
from cachetools import LRUCache
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dataplatform.core.access import Principal, product_permission, require, serve_rows
from dataplatform.core.connectors.lakehouse import Lakehouse, read_keys
from dataplatform.core.engine import (
    SnapshotFiles,
    Within,
    new_connection,
    pruned,
    run_query,
    snapshot_files,
)
from dataplatform.core.errors import InvalidRequestError, NotFoundError, TerminalError, did_you_mean
from dataplatform.core.metrics import SERVED_ANSWERS, SERVED_FILES
from dataplatform.core.query_lineage import AnswerLineage, OutputColumn, answer_lineage
from dataplatform.core.sandbox import QuerySandbox

if TYPE_CHECKING:
    import duckdb
    from deltalake import DeltaTable

MAX_PAGE_ROWS = 1000
# A query's parameters: by name (`$kind` in the SQL) or by position (`?`).
QueryParams = Mapping[str, Any] | Sequence[Any]
# A query's keys: alias -> (column, the values whose rows it reads).
Keys = Mapping[str, tuple[str, Sequence[Any]]]
# Answers kept per process by default (`gateway.answer_cache_entries` sets it).
ANSWERS_KEPT = 256
# File lists of past versions kept (those cursors pinned lately), beside each table's latest.
VERSIONS_KEPT = 64

PageLimit = Annotated[
    int, Query(ge=1, le=MAX_PAGE_ROWS, description=f"Rows per page, 1 to {MAX_PAGE_ROWS}.")
]
PageCursor = Annotated[
    str | None, Query(description="`next_cursor` of the previous page; omit for the first page.")
]


class JSONOut(Response):
    """JSON through orjson: fast, with datetimes as ISO 8601 and anything else as its string.

    Every time the platform stores is UTC, so a datetime without a zone (as SQLite returns them,
    and as `rows_of` hands them over) is written with `+00:00`.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(
            content, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC
        )


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as dicts for `JSONOut`, with zoned timestamps as naive UTC (a zone object per
    value costs more than the rest of the conversion) and maps as JSON objects."""
    rows: list[dict[str, Any]] = naive_utc(table).to_pylist(maps_as_pydicts="strict")
    return rows


def naive_utc(table: pa.Table) -> pa.Table:
    """`table` with its zoned timestamp columns as naive UTC (the same instants); free when none."""
    if not any(pa.types.is_timestamp(f.type) and f.type.tz is not None for f in table.schema):
        return table
    schema = pa.schema(
        pa.field(f.name, pa.timestamp(f.type.unit), f.nullable)
        if pa.types.is_timestamp(f.type) and f.type.tz is not None
        else f
        for f in table.schema
    )
    return table.cast(schema)


@dataclass(frozen=True)
class Answer:
    """A query's rows, ready to serve (`serve_rows` copies them), and their lineage."""

    rows: list[dict[str, Any]]
    lineage: AnswerLineage


# (query fingerprint, bounds, page (limit, offset), ((alias, table, version), ...))
AnswerKey = tuple[str, str, tuple[int, int] | None, tuple[tuple[str, str, int], ...]]


class TableSnapshots:
    """Where each table's files are, and a bounded cache of answers: never a table's rows.

    A query reads the files of the versions it names (`SnapshotFiles`), pruned to the bounds it
    gives, and nothing of them stays after it but its answer, kept in an LRU of `answers_kept`
    entries per (query, parameters, bounds, page, table versions): a version never changes, so
    a hot answer is served again without reading a file. The latest version of a table is
    re-checked at most every `max_age_seconds` (one `stat` on a local lake), so an answer is at
    most that much behind the table. Memory is the file lists of the versions read lately and
    the answers kept, whatever the tables' history.
    """

    def __init__(
        self, lake: Lakehouse, max_age_seconds: float = 1.0, answers_kept: int = ANSWERS_KEPT
    ) -> None:
        self.lake = lake
        self.max_age_seconds = max_age_seconds
        self._handles: dict[str, DeltaTable] = {}
        self._checked: dict[str, tuple[float, SnapshotFiles]] = {}
        self._versions: LRUCache[tuple[str, int], SnapshotFiles] = LRUCache(VERSIONS_KEPT)
        self._answers: LRUCache[AnswerKey, Answer] = LRUCache(answers_kept)
        self._lock = threading.Lock()
        self._answers_lock = threading.Lock()

    def fresh(self, name: str) -> SnapshotFiles | None:
        """The latest files of `name` if checked less than `max_age_seconds` ago; no I/O."""
        checked = self._checked.get(name)
        if checked is not None and time.monotonic() - checked[0] < self.max_age_seconds:
            return checked[1]
        return None

    async def files_async(self, name: str, version: int | None = None) -> SnapshotFiles | None:
        """`files` for async routes: off the event loop unless the answer is at hand."""
        if version is None:
            fresh = self.fresh(name)
            if fresh is not None:
                return fresh
        else:
            with self._lock:
                held = self._versions.get((name, version))
            if held is not None:
                return held
        return await anyio.to_thread.run_sync(self.files, name, version)

    def files(self, name: str, version: int | None = None) -> SnapshotFiles | None:
        """The files of `version` of `name` (its latest when None); None when not written yet."""
        return self._latest(name) if version is None else self._at(name, version)

    async def latest_async(self, name: str) -> tuple[int | None, pa.Table | None]:
        """(version, every row) of the table now, or (None, None) when it is not written yet.

        For a reader that needs the whole table (an audit chain check): the rows are read for
        this call and not kept.
        """
        files = await self.files_async(name)
        if files is None:
            return None, None
        rows = await anyio.to_thread.run_sync(_run_query, "select * from t", {"t": files}, ())
        return files.version, rows

    def answer(self, key: AnswerKey) -> Answer | None:
        """The answer kept for `key`, counted as a hit or a miss."""
        with self._answers_lock:
            kept = self._answers.get(key)
        SERVED_ANSWERS.labels("miss" if kept is None else "hit").inc()
        return kept

    def keep(self, key: AnswerKey, answer: Answer) -> None:
        """Keep `answer` for `key`, evicting the least recently used one past the bound."""
        with self._answers_lock:
            self._answers[key] = answer

    def drop(self, name: str) -> None:
        """Forget every file list and answer held of `name`: after an erasure or a retention
        purge, no answer (not even a page of a version a cursor pinned) comes from memory."""
        with self._lock:
            self._checked.pop(name, None)
            self._handles.pop(name, None)
            for version in [key for key in self._versions if key[0] == name]:
                del self._versions[version]
        with self._answers_lock:
            for answer in [key for key in self._answers if name in _tables_of(key)]:
                del self._answers[answer]

    def _latest(self, name: str) -> SnapshotFiles | None:
        with self._lock:
            fresh = self.fresh(name)  # another thread may have re-read it while this one waited
            if fresh is not None:
                return fresh
            checked_at = time.monotonic()
            held = self._checked.get(name)
            # One stat says whether a commit came; only then is the log read.
            if held is not None and not self.lake.has_commit_after(name, held[1].version):
                files: SnapshotFiles | None = held[1]
            else:
                files = self._reload(name)
            if files is not None:
                self._checked[name] = (checked_at, files)
                self._versions[(name, files.version)] = files
            return files

    def _reload(self, name: str) -> SnapshotFiles | None:
        handle = self._handles.get(name)
        if handle is None:
            if not self.lake.exists(name):
                return None
            handle = self._handles[name] = self.lake.table(name)
        else:
            handle.update_incremental()  # replays only the commits since the last check
        return snapshot_files(self.lake, handle, name)

    def _at(self, name: str, version: int) -> SnapshotFiles:
        with self._lock:
            held = self._versions.get((name, version))
        if held is not None:
            return held
        files = snapshot_files(self.lake, self.lake.table(name, version=version), name)
        with self._lock:
            self._versions[(name, version)] = files
        return files


def lake_of(request: Request) -> Lakehouse:
    """The app's lakehouse."""
    lake: Lakehouse = _state(request, "lake")
    return lake


def snapshots_of(request: Request) -> TableSnapshots:
    """The app's snapshot cache."""
    snapshots: TableSnapshots = _state(request, "tables")
    return snapshots


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise TerminalError(
            f"This app has no `{name}` on its state; serve the product through the gateway or "
            "`dataplatform serve --product NAME`."
        )
    return value


T = TypeVar("T")


def _dump_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode()


def _load_cursor(cursor: str, read: Callable[[Any], T]) -> T:
    """`read` applied to the state a cursor holds; a 422 naming it when it is not one of ours."""
    try:
        return read(orjson.loads(base64.urlsafe_b64decode(cursor.encode())))
    except (
        binascii.Error,
        orjson.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ):
        raise InvalidRequestError(
            "`cursor` is not a cursor this API gave out; pass `next_cursor` from the previous page.",
            field="query.cursor",
        ) from None


def encode_cursor(version: int, offset: int) -> str:
    return _dump_cursor({"v": version, "o": offset})


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(version, offset) from a cursor this module made; 422 naming `cursor` otherwise."""
    version, offset = _load_cursor(cursor, lambda state: (int(state["v"]), int(state["o"])))
    if version < 0 or offset < 0:
        raise InvalidRequestError("`cursor` is out of range.", field="query.cursor")
    return version, offset


def page_answer(page: dict[str, Any], **query: Any) -> dict[str, Any]:
    """A page with the query it answers (defaults filled in), so a client sees what it got."""
    return {"query": query, **page}


def published_tables_router(product: str, tables: Sequence[Any]) -> APIRouter:
    """`GET /tables` and `GET /tables/{table}`: the product's gold tables, read-only and paged.

    `tables` are the product's `Table` declarations (`context.declarations`); only `gold.*` ones
    are published.
    """
    namespace = product.replace("-", "_")
    published = {t.name.split(".", 1)[1]: t for t in tables if t.name.startswith("gold.")}
    router = APIRouter(tags=[product])
    can_read = require(product_permission(product, "read"))

    @router.get("/tables", dependencies=[can_read], summary="The product's published gold tables")
    async def list_tables() -> JSONOut:
        return JSONOut(
            {
                "product": product,
                "tables": [
                    {
                        "name": name,
                        "table": f"{namespace}.{table.name}",
                        "description": table.description,
                    }
                    for name, table in sorted(published.items())
                ],
            }
        )

    @router.get("/tables/{table}", summary="Rows of one published gold table, paged")
    async def read_table(
        table: str,
        request: Request,
        caller: Annotated[Principal, can_read],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS)] = 100,
        cursor: str | None = None,
    ) -> JSONOut:
        if table not in published:
            raise NotFoundError(
                f"`{product}` publishes no gold table `{table}`; it publishes "
                f"{', '.join(sorted(published)) or 'none'}.{did_you_mean(table, published)}"
            )
        full_name = f"{namespace}.gold.{table}"
        snapshots = snapshots_of(request)
        version, offset = (None, 0) if cursor is None else decode_cursor(cursor)
        files = await snapshots.files_async(full_name, version)
        if files is None:
            return JSONOut({"table": full_name, "version": None, "rows": [], "next_cursor": None})
        query = _Query("select * from t", {"t": full_name}, (), {})
        answer = await _cached_answer(
            snapshots, query, {"t": files}, page=(limit + 1, offset), pinned=cursor is not None
        )
        lineage = AnswerLineage.whole_table(full_name, files.schema.names)
        more = len(answer.rows) > limit
        return JSONOut(
            {
                "table": full_name,
                "version": files.version,
                "rows": serve_rows(request, caller, lineage, answer.rows[:limit]),
                "next_cursor": encode_cursor(files.version, offset + limit) if more else None,
            }
        )

    return router


_duckdb = threading.local()


async def gold_rows(
    request: Request,
    caller: Principal,
    sql: str,
    tables: Mapping[str, str],
    params: QueryParams = (),
    *,
    within: Mapping[str, Within] | None = None,
    keys: Keys | None = None,
) -> list[Mapping[str, Any]]:
    """The rows of a DuckDB query over the latest snapshots of `tables` (alias -> full name).

    `within` (alias -> column -> (first, last), both included) says what range of a column the
    query asks for: files whose partition values or min/max statistics cannot hold a row in it
    are not read. `keys` (alias -> (column, values)) says which values of a column it asks for:
    only the row groups holding them are read. The query must still filter its rows itself
    either way. The query's column lineage decides what is masked and audited: every column
    computed from a PII-tagged column of any table it reads, under any name, is masked for
    callers without `pii:read`, and the read of every table is audited. A table not written yet
    makes no rows.
    """
    snapshots = snapshots_of(request)
    files = await _snapshots(snapshots, tables, {})
    if files is None:
        return serve_rows(request, caller, _unanswered(tables), [])
    query = _Query(sql, tables, params, within or {}, keys or {})
    answer = await _cached_answer(snapshots, query, files, page=None, pinned=False)
    return serve_rows(request, caller, answer.lineage, answer.rows)


async def gold_page(
    request: Request,
    caller: Principal,
    sql: str,
    tables: Mapping[str, str],
    params: QueryParams = (),
    *,
    limit: int,
    cursor: str | None,
    within: Mapping[str, Within] | None = None,
    keys: Keys | None = None,
) -> dict[str, Any]:
    """One page of a query, as `{"rows": [...], "next_cursor": ...}`; see `gold_rows`.

    `sql` must end with an `order by` that orders rows totally (the page is cut with limit and
    offset after it). The cursor pins the versions of every table, so a client paging while the
    tables grow sees one consistent answer, and it only fits the query (and parameters) it came
    from: another query's cursor is a 422 naming `cursor`.
    """
    fingerprint = _fingerprint(sql, params)
    if cursor is None:
        versions: dict[str, int] = {}
        offset = 0
    else:
        versions, offset = _decode_query_cursor(cursor, fingerprint, tables)
    snapshots = snapshots_of(request)
    files = await _snapshots(snapshots, tables, versions)
    if files is None:
        return {"rows": serve_rows(request, caller, _unanswered(tables), []), "next_cursor": None}
    query = _Query(sql, tables, params, within or {}, keys or {})
    answer = await _cached_answer(
        snapshots, query, files, page=(limit + 1, offset), pinned=cursor is not None
    )
    pinned = {alias: snapshot.version for alias, snapshot in files.items()}
    return {
        "rows": serve_rows(request, caller, answer.lineage, answer.rows[:limit]),
        "next_cursor": _encode_query_cursor(pinned, offset + limit, fingerprint)
        if len(answer.rows) > limit
        else None,
    }


def lake_rows(
    snapshots: TableSnapshots,
    sql: str,
    tables: Mapping[str, str],
    params: QueryParams = (),
    *,
    within: Mapping[str, Within] | None = None,
) -> list[dict[str, Any]]:
    """`gold_rows` for a job, which serves no caller: the same SQL over the same files, pruned
    the same way, but neither masked nor audited, so its rows must reach no one as they are
    (a trend alert sends a count). A table not written yet makes no rows."""
    files = {}
    for alias, name in tables.items():
        found = snapshots.files(name)
        if found is None:
            return []
        files[alias] = found
    result, _ = _answer(_Query(sql, tables, params, within or {}), files)
    return rows_of(result)


@dataclass(frozen=True)
class _Query:
    """What a route asks: SQL, its tables (alias -> full name), parameters, bounds and keys."""

    sql: str
    tables: Mapping[str, str]
    params: QueryParams
    within: Mapping[str, Within]
    keys: Keys = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxedAnswer:
    """The rows of a caller's SQL, masked, at most `max_rows` of them; `truncated` when it
    had more."""

    columns: list[str]
    rows: list[Mapping[str, Any]]
    truncated: bool
    versions: dict[str, int]


async def sandboxed_rows(
    request: Request,
    caller: Principal,
    sql: str,
    tables: Mapping[str, str],
    sandbox: QuerySandbox,
    *,
    max_rows: int,
) -> SandboxedAnswer:
    """The rows of SQL a caller wrote (checked already: one SELECT over `tables`, alias -> full
    name), run in `sandbox`: the first `max_rows`, masked and audited as `gold_rows`' are, and
    kept per table version like them. A table not written yet is a 404 naming it."""
    snapshots = snapshots_of(request)
    files: dict[str, SnapshotFiles] = {}
    for alias, name in tables.items():
        found = await snapshots.files_async(name)
        if found is None:
            raise NotFoundError(f"Table `{name}` has no data yet: nothing has been written to it.")
        files[alias] = found
    query = _Query(sql, tables, (), {})
    key = _answer_key(query, files, (max_rows + 1, 0))
    answer = snapshots.answer(key)
    if answer is None:
        result, lineage = await anyio.to_thread.run_sync(
            _sandboxed_answer, query, files, max_rows + 1, sandbox
        )
        answer = Answer(rows_of(result), lineage)
        snapshots.keep(key, answer)
    return SandboxedAnswer(
        columns=list(answer.lineage.columns),
        rows=serve_rows(request, caller, answer.lineage, answer.rows[:max_rows]),
        truncated=len(answer.rows) > max_rows,
        versions={name: files[alias].version for alias, name in tables.items()},
    )


def _sandboxed_answer(
    query: _Query, files: Mapping[str, SnapshotFiles], limit: int, sandbox: QuerySandbox
) -> tuple[pa.Table, AnswerLineage]:
    # Wrapped, not appended to: the caller's SQL may end with a limit of its own. (The wrapping
    # also names a repeated column apart: `x`, `x_1`.)
    limited = f"select * from (\n{query.sql}\n) limit {int(limit)}"
    for snapshot in files.values():
        SERVED_FILES.labels(snapshot.name).inc(snapshot.files.num_rows)
    result = sandbox.run(
        lambda connection: _plain_numbers(run_query(connection, limited, files, None)),
        field="body.sql",
    )
    if not files:  # values the query made itself (`range(10)`): nothing to trace, nothing to hide
        made = {name: OutputColumn(name, frozenset()) for name in result.column_names}
        return result, AnswerLineage(made, ())
    columns = {alias: snapshot.schema.names for alias, snapshot in files.items()}
    return result, answer_lineage(query.sql, query.tables, columns, result.column_names)


async def _snapshots(
    snapshots: TableSnapshots, tables: Mapping[str, str], versions: Mapping[str, int]
) -> dict[str, SnapshotFiles] | None:
    """Each table's files (alias -> files) at its pinned version, else its latest; None when a
    table is not written yet."""
    found: dict[str, SnapshotFiles] = {}
    for alias, name in tables.items():
        files = await snapshots.files_async(name, versions.get(alias))
        if files is None:
            return None
        found[alias] = files
    return found


async def _cached_answer(
    snapshots: TableSnapshots,
    query: _Query,
    files: Mapping[str, SnapshotFiles],
    *,
    page: tuple[int, int] | None,
    pinned: bool,
) -> Answer:
    """The answer kept for this query over these versions, else read from their files."""
    key = _answer_key(query, files, page)
    kept = snapshots.answer(key)
    if kept is not None:
        return kept
    import duckdb

    try:
        result, lineage = await anyio.to_thread.run_sync(_answer, query, files, page)
    except (duckdb.IOException, FileNotFoundError):  # DuckDB's reads, and `read_keys`' ones
        if not pinned:
            raise
        # A pinned version whose files were vacuumed since (an erasure, a retention purge).
        raise InvalidRequestError(
            "`cursor` points at a version whose files were removed since (an erasure or a "
            "retention purge); start again without a cursor.",
            field="query.cursor",
        ) from None
    answer = Answer(rows_of(result), lineage)
    snapshots.keep(key, answer)
    return answer


def _answer_key(
    query: _Query, files: Mapping[str, SnapshotFiles], page: tuple[int, int] | None
) -> AnswerKey:
    bounds = orjson.dumps(
        {
            alias: {c: [str(v) for v in b] for c, b in cols.items()}
            for alias, cols in query.within.items()
        }
        | {
            f"{alias} keys": {column: sorted(str(v) for v in values)}
            for alias, (column, values) in query.keys.items()
        },
        option=orjson.OPT_SORT_KEYS,
    ).decode()
    versions = tuple(sorted((alias, f.name, f.version) for alias, f in files.items()))
    return (_fingerprint(query.sql, query.params), bounds, page, versions)


def _tables_of(key: AnswerKey) -> set[str]:
    return {name for _, name, _ in key[3]}


def _unanswered(tables: Mapping[str, str]) -> AnswerLineage:
    """The lineage of a query not run (a table is not written yet): no column, every table."""
    return AnswerLineage({}, tuple(tables.values()))


def _answer(
    query: _Query, files: Mapping[str, SnapshotFiles], page: tuple[int, int] | None = None
) -> tuple[pa.Table, AnswerLineage]:
    """The rows of the query over the files its bounds keep (`page`: limit and offset), and
    their lineage."""
    sql = query.sql
    if page is not None:
        # Written as numbers, not parameters: DuckDB takes `?` or `$name`, never both at once.
        limit, offset = (int(n) for n in page)
        sql = f"{sql.rstrip().rstrip(';')}\nlimit {limit} offset {offset}"
    kept = pruned(files, query.within)
    unknown = sorted(set(query.keys) - set(kept))
    if unknown:
        raise TerminalError(
            f"`keys` names `{unknown[0]}`, which is not a table of the query; its tables are "
            f"{', '.join(kept)}.{did_you_mean(unknown[0], kept)}"
        )
    found = {
        alias: _rows_of_keys(kept.pop(alias), column, values)
        for alias, (column, values) in query.keys.items()
    }
    for snapshot in kept.values():
        SERVED_FILES.labels(snapshot.name).inc(snapshot.files.num_rows)
    result = _run_query(sql, kept, query.params, found)
    # Traced from the route's SQL, not the paged text: one lineage per query, whatever the page.
    columns = {alias: snapshot.schema.names for alias, snapshot in files.items()}
    return result, answer_lineage(query.sql, query.tables, columns, result.column_names)


def _run_query(
    sql: str,
    files: Mapping[str, SnapshotFiles],
    params: QueryParams,
    rows: Mapping[str, pa.Table] | None = None,
) -> pa.Table:
    """`sql` over the `files` of each alias, and the `rows` already read of others."""
    connection = _connection()
    for alias, held in (rows or {}).items():
        connection.register(alias, held)
    try:
        return _plain_numbers(run_query(connection, sql, files, _bound_params(params)))
    finally:
        for alias in rows or {}:
            connection.unregister(alias)


def _rows_of_keys(snapshot: SnapshotFiles, column: str, values: Sequence[Any]) -> pa.Table:
    """The rows of `snapshot` whose `column` is one of `values`, from the row groups holding
    them, with zoned times as naive UTC (as a view of its files has them)."""
    if column not in snapshot.schema.names:
        raise TerminalError(
            f"`keys` names column `{column}`, which `{snapshot.name}` does not have; it has "
            f"{', '.join(snapshot.schema.names)}.{did_you_mean(column, snapshot.schema.names)}"
        )
    kind = snapshot.schema.field(column).type
    plain = pa.string() if pa.types.is_string_view(kind) else kind
    found = read_keys(_dataset_of(snapshot), column, pa.array(list(values), plain))
    SERVED_FILES.labels(snapshot.name).inc(found.files_read)
    return naive_utc(found.rows)


def _dataset_of(snapshot: SnapshotFiles) -> ds.FileSystemDataset:
    """The snapshot's files as a dataset: each file with its partition values (Delta keeps them
    in the log, not in the files)."""
    if not snapshot.local:  # the object store's files through delta-rs, as `bind` reads them
        from deltalake import DeltaTable

        whole = DeltaTable(snapshot.uri, version=snapshot.version).to_pyarrow_dataset()
        wanted = set(snapshot.paths)
        fragments = [f for f in whole.get_fragments() if unquote(f.path) in wanted]
        return ds.FileSystemDataset(fragments, whole.schema, whole.format, whole.filesystem)
    import pyarrow.fs

    local = pyarrow.fs.LocalFileSystem()
    parquet = ds.ParquetFileFormat()
    values = {
        column: snapshot.files.column(f"partition.{column}").to_pylist()
        for column in snapshot.partition_columns
    }
    fragments = [
        parquet.make_fragment(
            path,
            local,
            partition_expression=_partition_of(
                snapshot.schema, {column: values[column][index] for column in values}
            ),
        )
        for index, path in enumerate(snapshot.paths)
    ]
    return ds.FileSystemDataset(fragments, snapshot.schema, parquet, local)


def _partition_of(schema: pa.Schema, values: Mapping[str, Any]) -> ds.Expression:
    """`column == value` for each partition value of a file (`is_null` for a null one)."""
    expression = ds.scalar(True)
    for column, value in values.items():
        field = ds.field(column)
        kind = schema.field(column).type
        expression &= field.is_null() if value is None else field == pa.scalar(value, kind)
    return expression


def _plain_numbers(table: pa.Table) -> pa.Table:
    """Decimals as JSON numbers: DuckDB sums integers into HUGEINT (a decimal to Arrow), which
    would reach clients as strings; whole ones become int64, the others float64."""
    if not any(pa.types.is_decimal(field.type) for field in table.schema):
        return table
    schema = pa.schema(
        pa.field(f.name, pa.int64() if f.type.scale == 0 else pa.float64(), f.nullable)
        if pa.types.is_decimal(f.type)
        else f
        for f in table.schema
    )
    return table.cast(schema)


def _connection() -> "duckdb.DuckDBPyConnection":
    """This thread's DuckDB connection (a connection must not be shared between threads)."""
    connection = getattr(_duckdb, "connection", None)
    if connection is None:
        connection = _duckdb.connection = new_connection()
    return connection


def _bound_params(params: QueryParams) -> dict[str, Any] | list[Any]:
    """`params` as DuckDB takes them: `$name` from a mapping, `?` from a sequence."""
    if isinstance(params, Mapping):
        return {name: _naive_utc_value(value) for name, value in params.items()}
    return [_naive_utc_value(value) for value in params]


def _naive_utc_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _fingerprint(sql: str, params: QueryParams) -> str:
    values = (
        sorted((name, str(v)) for name, v in params.items())
        if isinstance(params, Mapping)
        else [str(p) for p in params]
    )
    text = orjson.dumps([sql, values])
    return hashlib.sha256(text).hexdigest()[:16]


def _encode_query_cursor(versions: Mapping[str, int], offset: int, fingerprint: str) -> str:
    return _dump_cursor({"v": dict(versions), "o": offset, "q": fingerprint})


def _decode_query_cursor(
    cursor: str, fingerprint: str, tables: Mapping[str, str]
) -> tuple[dict[str, int], int]:
    versions, offset, query = _load_cursor(
        cursor,
        lambda state: (
            {str(alias): int(v) for alias, v in state["v"].items()},
            int(state["o"]),
            str(state["q"]),
        ),
    )
    if query != fingerprint or set(versions) != set(tables):
        raise InvalidRequestError(
            "`cursor` belongs to another query: page with the same filters as the first page, "
            "or omit `cursor` to start again.",
            field="query.cursor",
        )
    if offset < 0 or any(v < 0 for v in versions.values()):
        raise InvalidRequestError("`cursor` is out of range.", field="query.cursor")
    return versions, offset
