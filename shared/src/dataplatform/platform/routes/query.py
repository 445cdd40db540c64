"""`/query`: read-only SQL over the gold tables (silver with `query:silver`), as JSON, CSV or
Parquet, and queries saved by name.

A query is checked before it runs (`platform/query`), runs in the sandboxed database with the
row, time and memory limits of the `query` settings, and its answer is masked by its lineage
and audited like every other read.
"""

import io
from collections.abc import Callable
from typing import Annotated, Literal

import pyarrow as pa
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.access import (
    CATALOG_READ,
    QUERY_RUN,
    QUERY_SILVER,
    Principal,
    product_permission,
    require,
)
from dataplatform.core.errors import NotFoundError, PermissionDeniedError
from dataplatform.core.serving import JSONOut, SandboxedAnswer, sandboxed_rows
from dataplatform.platform.query import check_query, unknown_table
from dataplatform.platform.services import Services, services

MAX_SQL_CHARS = 100_000
Format = Literal["json", "csv", "parquet"]
QueryName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=MAX_SQL_CHARS,
        description="One DuckDB SELECT over tables named in full (`web_user_analytics.gold.pages`).",
    )
    format: Format = "json"
    max_rows: int | None = Field(
        None, ge=1, le=1_000_000, description="Fewer rows than the platform's `query.max_rows`."
    )


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Format = "json"
    max_rows: int | None = Field(None, ge=1, le=1_000_000)


class SavedQueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    sql: str = Field(min_length=1, max_length=MAX_SQL_CHARS)
    description: str = Field("", max_length=2000)


def query_router() -> APIRouter:
    router = APIRouter(prefix="/query", tags=["query"])
    can_query = require(QUERY_RUN)
    can_read = require(CATALOG_READ)

    @router.post(
        "",
        summary="Run read-only SQL over the lake's gold tables",
        description=(
            "One SELECT (or WITH ... SELECT) in DuckDB's SQL over tables named in full; no "
            "files, extensions, settings or other statements. Columns computed from PII are "
            "masked for callers without `pii:read`; at most `max_rows` rows (the answer says "
            "when there were more), cancelled past the timeout. JSON, CSV or Parquet."
        ),
    )
    async def run_query(
        body: QueryIn, request: Request, caller: Annotated[Principal, can_query]
    ) -> Response:
        return await _answer(request, caller, body.sql, body.format, body.max_rows)

    @router.get("/saved", dependencies=[can_read], summary="Saved queries, by name")
    def list_saved(request: Request) -> JSONOut:
        saved = services(request).saved_queries.list()
        return JSONOut({"queries": [query.as_json() for query in saved]})

    @router.post("/saved", status_code=201, summary="Save a query under a name")
    def save(
        body: SavedQueryIn, request: Request, caller: Annotated[Principal, can_query]
    ) -> JSONOut:
        platform = services(request)
        check_query(body.sql, resolver(platform, caller))  # a query saved is one that runs
        saved = platform.saved_queries.save(body.name, body.sql, body.description, caller.subject)
        platform.record(request, caller, "query.save", detail={"name": body.name})
        return JSONOut(saved.as_json(), status_code=201)

    @router.get("/saved/{name}", dependencies=[can_read], summary="One saved query")
    def get_saved(name: QueryName, request: Request) -> JSONOut:
        return JSONOut(services(request).saved_queries.get(name).as_json())

    @router.delete("/saved/{name}", status_code=204, summary="Delete a saved query")
    def delete_saved(
        name: QueryName, request: Request, caller: Annotated[Principal, can_query]
    ) -> Response:
        platform = services(request)
        platform.saved_queries.delete(name)
        platform.record(request, caller, "query.delete", detail={"name": name})
        return Response(status_code=204)

    @router.post(
        "/saved/{name}/run",
        summary="Run a saved query",
        description="Over the tables the caller may read: a viewer runs what an analyst saved.",
    )
    async def run_saved(
        name: QueryName,
        request: Request,
        caller: Annotated[Principal, can_read],
        body: RunIn | None = None,
    ) -> Response:
        saved = services(request).saved_queries.get(name)
        run = body or RunIn()
        return await _answer(request, caller, saved.sql, run.format, run.max_rows)

    return router


async def _answer(
    request: Request, caller: Principal, sql: str, format: Format, max_rows: int | None
) -> Response:
    platform = services(request)
    checked = check_query(sql, resolver(platform, caller))
    limit = min(max_rows or platform.settings.query.max_rows, platform.settings.query.max_rows)
    answer = await sandboxed_rows(
        request, caller, checked.sql, checked.tables, platform.sandbox, max_rows=limit
    )
    if format == "json":
        return JSONOut(
            {
                "columns": answer.columns,
                "rows": answer.rows,
                "row_count": len(answer.rows),
                "truncated": answer.truncated,
                "max_rows": limit,
                "versions": answer.versions,
            }
        )
    return Response(
        _encoded(answer, format),
        media_type=_MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="query.{format}"',
            "X-Truncated": "true" if answer.truncated else "false",
        },
    )


def _encoded(answer: SandboxedAnswer, format: Format) -> bytes:
    """The rows as CSV (a header line first) or Parquet; a masked column holds `***`."""
    table = pa.Table.from_pylist(
        [dict(row) for row in answer.rows],
        schema=None if answer.rows else pa.schema([(c, pa.null()) for c in answer.columns]),
    )
    table = table.select(answer.columns)
    buffer = io.BytesIO()
    if format == "csv":
        import pyarrow.csv

        pyarrow.csv.write_csv(table, buffer)
    else:
        import pyarrow.parquet

        pyarrow.parquet.write_table(table, buffer)
    return buffer.getvalue()


def resolver(platform: Services, caller: Principal) -> Callable[[str], str]:
    """Turns a table named in a query into its full name, if the caller may read it there."""
    readable_layers = ("gold", "silver") if caller.can(QUERY_SILVER) else ("gold",)

    def resolve(written: str) -> str:
        try:
            entry = platform.catalog.get_table(written)
        except NotFoundError:
            readable = [
                t.name for t in platform.catalog.list_tables() if t.layer in readable_layers
            ]
            raise unknown_table(written, readable) from None
        if entry.layer not in readable_layers:
            needs = "" if entry.layer != "silver" else f" without `{QUERY_SILVER}`"
            raise PermissionDeniedError(
                f"`{written}` is a {entry.layer} table, which queries cannot read{needs}; query "
                "the gold tables the products publish."
            )
        needed = product_permission(entry.product, "read")
        if not caller.can(needed):
            raise PermissionDeniedError(
                f"`{caller.subject}` lacks `{needed}`, which reading `{written}` needs."
            )
        return entry.name

    return resolve
