"""`/compliance/lineage/{table}`: where a table's (or one column's) data comes from and where
it goes, column by column, from the lineage in force (`gold.lineage_current`).

Each edge comes back once, at the shortest depth it was reached. Without `column` the walk goes
table by table (every edge into, or out of, each table reached); with it, column by column. A
source column `*` is a row count: it depends on the rows of its table rather than on a column,
so upstream from it the walk takes every edge into that table, and downstream from a column it
is not followed (a count carries no column's values).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from compliance_auditing.serving._access import CatalogReader
from compliance_auditing.serving._common import TABLE_NAME
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.errors import NotFoundError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, gold_rows

MAX_DEPTH = 10
EDGE = "model, source_table, source_column, target_table, target_column"

TablePath = Annotated[
    str,
    Path(
        pattern=TABLE_NAME,
        max_length=200,
        description="The table, <product>.<layer>.<table>.",
    ),
]
Direction = Literal["upstream", "downstream", "both"]
Depth = Annotated[int, Query(ge=1, le=MAX_DEPTH, description="How many hops to follow.")]
Column = Annotated[
    str | None,
    Query(pattern=r"^([A-Za-z_][A-Za-z0-9_]*|\*)$", max_length=200, description="One column."),
]


def lineage_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """`GET /lineage/{table}`, over the product's lineage in force."""
    router = APIRouter()
    tables = {"edges": context.table("gold.lineage_current")}

    @router.get("/lineage/{table}", summary="Upstream and downstream lineage, column level")
    async def lineage(
        table: TablePath,
        request: Request,
        caller: CatalogReader,
        direction: Direction = "both",
        depth: Depth = 3,
        column: Column = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        params: dict[str, object] = {"table": table, "depth": depth}
        if column is not None:
            params["column"] = column
        query = _walks(direction, by_column=column is not None)
        page = await gold_page(request, caller, query, tables, params, limit=limit, cursor=cursor)
        if cursor is None and not page["rows"]:
            known = await gold_rows(
                request,
                caller,
                "select 1 as known from edges "
                "where source_table = $table or target_table = $table limit 1",
                tables,
                {"table": table},
            )
            if not known:
                raise NotFoundError(
                    f"No lineage is recorded for `{table}`: no model reads or writes it (yet). "
                    "Check the name, or wait for the models that use it to run."
                )
        return JSONOut(
            {"table": table, "column": column, "direction": direction, "depth": depth, **page}
        )

    return router


def _walks(direction: Direction, *, by_column: bool) -> str:
    """The query walking the edges in `direction` from `$table` (and `$column`), `$depth` hops."""
    walks = {"upstream": _upstream, "downstream": _downstream}
    taken = [name for name in walks if direction in (name, "both")]
    return (
        f"with recursive {', '.join(walks[name](by_column=by_column) for name in taken)} "
        + " union all ".join(
            f"select min(depth) as depth, '{name}' as direction, {EDGE} from {name} group by {EDGE}"
            for name in taken
        )
        + " order by direction desc, depth, source_table, source_column, target_table, "
        "target_column, model"
    )


def _upstream(*, by_column: bool) -> str:
    start = (
        "target_table = $table and target_column = $column"
        if by_column
        else "target_table = $table"
    )
    step = (
        "e.target_table = w.source_table "
        "and (e.target_column = w.source_column or w.source_column = '*')"
        if by_column
        else "e.target_table = w.source_table"
    )
    return _walk("upstream", start, step)


def _downstream(*, by_column: bool) -> str:
    start = (
        "source_table = $table and source_column = $column"
        if by_column
        else "source_table = $table"
    )
    step = (
        "e.source_table = w.target_table and e.source_column = w.target_column"
        if by_column
        else "e.source_table = w.target_table"
    )
    return _walk("downstream", start, step)


def _walk(name: str, start: str, step: str) -> str:
    columns = ", ".join(f"e.{c.strip()}" for c in EDGE.split(","))
    return (
        f"{name}(depth, {EDGE}) as ("
        f"select 1, {EDGE} from edges where {start} "
        f"union select w.depth + 1, {columns} from {name} as w join edges as e on {step} "
        "where w.depth < $depth)"
    )
