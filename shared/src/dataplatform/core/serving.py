"""What a product's API needs to answer from its tables: the lake, a snapshot cache, JSON out.

The platform puts a `Lakehouse` and a `TableSnapshots` on the app (`app.state.lake`,
`app.state.tables`); routes reach them through `lake_of` and `snapshots_of`. Every product also
publishes its gold tables read-only through `published_tables_router`, paged with a cursor that
pins the table version, so paging through a table that grows never skips or repeats a row.

A product's own endpoints answer with DuckDB SQL over those snapshots (`gold_rows`, `gold_page`):

    page = await gold_page(request, caller,
        "select * from sessions where user_id = $user order by started_at desc, session_id",
        tables={"sessions": "web_user_analytics.gold.sessions"}, params={"user": user_id},
        limit=limit, cursor=cursor)

Parameters are named (`$user` with a mapping), so a value used twice is given once; positional
`?` with a sequence work too.
"""

import asyncio
import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
import orjson
import pyarrow as pa
from cachetools import LRUCache
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dataplatform.core.access import Principal, product_permission, require, serve_rows
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError, NotFoundError, TerminalError, did_you_mean
from dataplatform.core.query_lineage import AnswerLineage, answer_lineage

if TYPE_CHECKING:
    import duckdb

MAX_PAGE_ROWS = 1000
# A query's parameters: by name (`$kind` in the SQL) or by position (`?`).
QueryParams = Mapping[str, Any] | Sequence[Any]
PAGES_KEPT = 256

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


class TableSnapshots:
    """The latest snapshot of each table, in memory, re-checked at most every `max_age_seconds`.

    API reads then cost a lookup instead of a Delta log replay. Async readers never wait for a
    re-check: the first to find a snapshot old starts one in a thread and every reader goes on
    with the snapshot held until it lands, so an answer is at most `max_age_seconds` plus one
    re-check behind the table. Only the very first read of a table waits for it to load.
    Snapshots are held ready to serve: zoned timestamps as naive UTC (`naive_utc`).
    """

    def __init__(self, lake: Lakehouse, max_age_seconds: float = 1.0) -> None:
        self.lake = lake
        self.max_age_seconds = max_age_seconds
        self._cached: dict[str, tuple[float, int, pa.Table]] = {}
        self._handles: dict[str, Any] = {}
        self._rechecks: dict[str, asyncio.Future[tuple[int | None, pa.Table | None]]] = {}
        self._pages: LRUCache[tuple[str, int, int, int], list[dict[str, Any]]] = LRUCache(
            PAGES_KEPT
        )
        self._lock = threading.Lock()
        self._pages_lock = threading.Lock()

    def fresh(self, name: str) -> tuple[int, pa.Table] | None:
        """(version, rows) if the cache holds a snapshot young enough; no I/O."""
        cached = self._cached.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.max_age_seconds:
            return cached[1], cached[2]
        return None

    async def latest_async(self, name: str) -> tuple[int | None, pa.Table | None]:
        """`latest` for async routes, answered on the event loop from the snapshot held."""
        fresh = self.fresh(name)
        if fresh is not None:
            return fresh
        cached = self._cached.get(name)
        # One stat says whether a commit came; only then is the log read, off the loop.
        if (
            cached is not None
            and self.lake.is_local
            and not self.lake.has_commit_after(name, cached[1])
        ):
            self._cached[name] = (time.monotonic(), cached[1], cached[2])
            return cached[1], cached[2]
        recheck = self._rechecks.get(name)
        if recheck is None:
            recheck = asyncio.ensure_future(anyio.to_thread.run_sync(self.latest, name))
            self._rechecks[name] = recheck
            recheck.add_done_callback(lambda _: self._rechecks.pop(name, None))
        if cached is not None:
            return cached[1], cached[2]
        return await asyncio.shield(recheck)

    async def at_async(self, name: str, version: int) -> pa.Table:
        cached = self._cached.get(name)
        if cached is not None and cached[1] == version:
            return cached[2]
        return await anyio.to_thread.run_sync(self.at, name, version)

    def page(
        self, name: str, version: int, rows: pa.Table, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        """Rows `offset` to `offset + limit` of `rows` (version `version` of `name`) as dicts.

        A version never changes, so its hot pages (the first, mostly) are converted once and
        kept; readers get them to copy, never to change in place (`serve_rows` copies).
        """
        key = (name, version, offset, limit)
        with self._pages_lock:  # not `_lock`: a table re-read in a thread holds that one
            cached = self._pages.get(key)
        if cached is None:
            cached = rows_of(rows.slice(offset, limit))
            with self._pages_lock:
                self._pages[key] = cached
        return cached

    def drop(self, name: str) -> None:
        """Forget every snapshot and page held of `name`: after an erasure or a retention
        purge, no answer (not even a page of a version a cursor pinned) comes from memory."""
        with self._lock:
            self._cached.pop(name, None)
            self._handles.pop(name, None)
        with self._pages_lock:
            for key in [key for key in self._pages if key[0] == name]:
                del self._pages[key]

    def latest(self, name: str) -> tuple[int | None, pa.Table | None]:
        """(version, rows) of the table now, or (None, None) when it has not been written yet."""
        with self._lock:
            fresh = self.fresh(name)  # another thread may have re-read it while this one waited
            if fresh is not None:
                return fresh
            return self._reload(name)

    def _reload(self, name: str) -> tuple[int | None, pa.Table | None]:
        checked_at = time.monotonic()
        handle = self._handles.get(name)
        if handle is None:
            if not self.lake.exists(name):
                return None, None
            handle = self._handles[name] = self.lake.table(name)
        else:
            handle.update_incremental()
        version = handle.version()
        cached = self._cached.get(name)
        if cached is not None and cached[1] == version:
            rows = cached[2]
        else:
            rows = naive_utc(handle.to_pyarrow_table())
        self._cached[name] = (checked_at, version, rows)
        return version, rows

    def at(self, name: str, version: int) -> pa.Table:
        """The table as it was at `version` (the cache's copy when that is the one held).

        A version whose files were vacuumed since (an erasure, retention) is a 422 naming the
        cursor that pinned it: the client starts again from the table as it is now.
        """
        cached = self._cached.get(name)
        if cached is not None and cached[1] == version:
            return cached[2]
        try:
            return naive_utc(self.lake.read(name, version=version))
        except FileNotFoundError:
            raise InvalidRequestError(
                f"`cursor` points at version {version} of `{name}`, whose files were removed "
                "since (an erasure or a retention purge); start again without a cursor.",
                field="query.cursor",
            ) from None


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
        if cursor is None:
            version, rows = await snapshots.latest_async(full_name)
            offset = 0
        else:
            version, offset = decode_cursor(cursor)
            rows = await snapshots.at_async(full_name, version)
        if version is None or rows is None:
            return JSONOut({"table": full_name, "version": None, "rows": [], "next_cursor": None})
        page = snapshots.page(full_name, version, rows, offset, limit)
        end = offset + len(page)
        return JSONOut(
            {
                "table": full_name,
                "version": version,
                "rows": serve_rows(
                    request, caller, AnswerLineage.whole_table(full_name, rows.column_names), page
                ),
                "next_cursor": encode_cursor(version, end) if end < rows.num_rows else None,
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
) -> list[Mapping[str, Any]]:
    """The rows of a DuckDB query over the latest snapshots of `tables` (alias -> full name).

    The query's column lineage decides what is masked and audited: every column computed from
    a PII-tagged column of any table it reads, under any name, is masked for callers without
    `pii:read`, and the read of every table is audited. A table not written yet makes no rows.
    """
    snapshots = await _snapshots(snapshots_of(request), tables, {})
    if snapshots is None:
        return serve_rows(request, caller, _unanswered(tables), [])
    bound, _ = snapshots
    result, lineage = await anyio.to_thread.run_sync(_answer, sql, tables, bound, params)
    return serve_rows(request, caller, lineage, rows_of(result))


async def gold_page(
    request: Request,
    caller: Principal,
    sql: str,
    tables: Mapping[str, str],
    params: QueryParams = (),
    *,
    limit: int,
    cursor: str | None,
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
    snapshots = await _snapshots(snapshots_of(request), tables, versions)
    if snapshots is None:
        return {"rows": serve_rows(request, caller, _unanswered(tables), []), "next_cursor": None}
    bound, pinned = snapshots
    result, lineage = await anyio.to_thread.run_sync(
        _answer, sql, tables, bound, params, (limit + 1, offset)
    )
    page = rows_of(result.slice(0, limit))
    more = result.num_rows > limit
    return {
        "rows": serve_rows(request, caller, lineage, page),
        "next_cursor": _encode_query_cursor(pinned, offset + limit, fingerprint) if more else None,
    }


async def _snapshots(
    snapshots: TableSnapshots, tables: Mapping[str, str], versions: Mapping[str, int]
) -> tuple[dict[str, pa.Table], dict[str, int]] | None:
    """Each table's rows (alias -> rows) at its pinned version, else its latest, with the
    versions read; None when a table is not written yet."""
    bound: dict[str, pa.Table] = {}
    pinned: dict[str, int] = {}
    for alias, name in tables.items():
        if alias in versions:
            version: int | None = versions[alias]
            rows: pa.Table | None = await snapshots.at_async(name, versions[alias])
        else:
            version, rows = await snapshots.latest_async(name)
        if version is None or rows is None:
            return None
        bound[alias], pinned[alias] = rows, version
    return bound, pinned


def _unanswered(tables: Mapping[str, str]) -> AnswerLineage:
    """The lineage of a query not run (a table is not written yet): no column, every table."""
    return AnswerLineage({}, tuple(tables.values()))


def _answer(
    sql: str,
    tables: Mapping[str, str],
    bound: Mapping[str, pa.Table],
    params: QueryParams,
    page: tuple[int, int] | None = None,
) -> tuple[pa.Table, AnswerLineage]:
    """The rows of `sql` over `bound` (`page`: limit and offset) and their lineage."""
    if page is None:
        result = _run_query(sql, bound, params)
    else:
        # Written as numbers, not parameters: DuckDB takes `?` or `$name`, never both at once.
        limit, offset = (int(n) for n in page)
        result = _run_query(
            f"{sql.rstrip().rstrip(';')}\nlimit {limit} offset {offset}", bound, params
        )
    # Traced from `sql`, not the paged text: one lineage per query, whatever the page.
    columns = {alias: rows.column_names for alias, rows in bound.items()}
    return result, answer_lineage(sql, tables, columns, result.column_names)


def _run_query(sql: str, tables: Mapping[str, pa.Table], params: QueryParams) -> pa.Table:
    connection = _connection()
    for alias, rows in tables.items():
        connection.register(alias, rows)
    try:
        result = connection.sql(sql, params=_bound_params(params))
        return _plain_numbers(result.to_arrow_table())
    finally:
        for alias in tables:
            connection.unregister(alias)


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
        import duckdb

        # Snapshots hold naive UTC: make the session's zone UTC too, so `now()` and casts agree.
        connection = _duckdb.connection = duckdb.connect()
        connection.execute("set TimeZone = 'UTC'")
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
