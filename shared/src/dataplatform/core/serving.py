"""What a product's API needs to answer from its tables: the lake, a snapshot cache, JSON out.

The platform puts a `Lakehouse` and a `TableSnapshots` on the app (`app.state.lake`,
`app.state.tables`); routes reach them through `lake_of` and `snapshots_of`. Every product also
publishes its gold tables read-only through `published_tables_router`, paged with a cursor that
pins the table version, so paging through a table that grows never skips or repeats a row.
"""

import asyncio
import base64
import binascii
import threading
import time
from collections.abc import Sequence
from typing import Annotated, Any

import anyio
import orjson
import pyarrow as pa
from cachetools import LRUCache
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dataplatform.core.access import Principal, product_permission, require, serve_rows
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError, NotFoundError, TerminalError, did_you_mean

MAX_PAGE_ROWS = 1000
PAGES_KEPT = 256


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
    value costs more than the rest of the conversion)."""
    return naive_utc(table).to_pylist()


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
        """The table as it was at `version` (the cache's copy when that is the one held)."""
        cached = self._cached.get(name)
        if cached is not None and cached[1] == version:
            return cached[2]
        return naive_utc(self.lake.read(name, version=version))


def lake_of(request: Request) -> Lakehouse:
    """The app's lakehouse."""
    return _state(request, "lake")


def snapshots_of(request: Request) -> TableSnapshots:
    """The app's snapshot cache."""
    return _state(request, "tables")


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise TerminalError(
            f"This app has no `{name}` on its state; serve the product through the gateway or "
            "`dataplatform serve --product NAME`."
        )
    return value


def encode_cursor(version: int, offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"v": version, "o": offset})).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(version, offset) from a cursor this module made; 422 naming `cursor` otherwise."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        version, offset = int(values["v"]), int(values["o"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InvalidRequestError(
            "`cursor` is not a cursor this API gave out; pass `next_cursor` from the previous page.",
            field="cursor",
        ) from None
    if version < 0 or offset < 0:
        raise InvalidRequestError("`cursor` is out of range.", field="cursor")
    return version, offset


def published_tables_router(product: str, tables: Sequence[Any]) -> APIRouter:
    """`GET /tables` and `GET /tables/{table}`: the product's gold tables, read-only and paged.

    `tables` are the product's `Table` declarations; only `gold.*` ones are published.
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
                "rows": serve_rows(request, caller, full_name, page),
                "next_cursor": encode_cursor(version, end) if end < rows.num_rows else None,
            }
        )

    return router
