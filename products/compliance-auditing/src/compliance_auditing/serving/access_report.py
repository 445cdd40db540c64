"""`/compliance/access-report`: who read which table and column; `/pii`: PII reads by user and
role; `/anomalies`: days a user read far above their own baseline; `/dormant-keys`: API keys
used again after sitting idle. All from the product's gold tables, by UTC day, paged."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from compliance_auditing.serving._access import Auditor
from compliance_auditing.serving._common import (
    Actor,
    Filter,
    FirstDay,
    LastDay,
    TableFilter,
    by_day,
    filtered,
)
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.access import Principal
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page

ColumnFilter = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200, description="A column name."),
]
RoleFilter = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9][a-z0-9_:*-]*$|^\(none\)$",
        max_length=100,
        description="A role, e.g. pii-reader; `(none)` for callers without roles.",
    ),
]
KeyFilter = Annotated[
    str | None,
    Query(pattern=r"^key:.+$", max_length=200, description="An API key, as key:<name>."),
]


def access_report_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """The access reports, over the product's gold tables of reads and key uses."""
    router = APIRouter()

    async def report(
        request: Request,
        caller: Principal,
        table: str,
        filters: list[Filter],
        order: str,
        page: tuple[int, str | None],
    ) -> JSONOut:
        """One page of the rows of the product's `table` that pass `filters`, in `order`."""
        sql, params = filtered("select * from report", filters, f"order by {order}")
        limit, cursor = page
        tables = {"report": context.table(table)}
        return JSONOut(
            await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
        )

    @router.get("/access-report", summary="Who read which column of which table, per day")
    async def column_reads(
        request: Request,
        caller: Auditor,
        first: FirstDay = None,
        last: LastDay = None,
        actor: Actor = None,
        table: TableFilter = None,
        column: ColumnFilter = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        filters = [
            *by_day("day", first, last),
            ("actor", "actor = $actor", actor),
            ("table", "table_name = $table", table),
            ("column", "column_name = $column", column),
        ]
        order = "day desc, actor, table_name, column_name"
        return await report(request, caller, "gold.column_reads", filters, order, (limit, cursor))

    @router.get("/access-report/pii", summary="Reads that returned PII, by user, role and table")
    async def pii_reads(
        request: Request,
        caller: Auditor,
        first: FirstDay = None,
        last: LastDay = None,
        actor: Actor = None,
        role: RoleFilter = None,
        table: TableFilter = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        filters = [
            *by_day("day", first, last),
            ("actor", "actor = $actor", actor),
            ("role", "role = $role", role),
            ("table", "table_name = $table", table),
        ]
        order = "day desc, actor, role, table_name"
        return await report(request, caller, "gold.pii_reads", filters, order, (limit, cursor))

    @router.get(
        "/access-report/anomalies", summary="Days a user read far more rows than their baseline"
    )
    async def anomalies(
        request: Request,
        caller: Auditor,
        first: FirstDay = None,
        last: LastDay = None,
        actor: Actor = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        filters = [*by_day("day", first, last), ("actor", "actor = $actor", actor)]
        return await report(
            request, caller, "gold.access_anomalies", filters, "day desc, actor", (limit, cursor)
        )

    @router.get("/access-report/dormant-keys", summary="API keys used again after sitting idle")
    async def dormant_keys(
        request: Request,
        caller: Auditor,
        first: FirstDay = None,
        last: LastDay = None,
        key: KeyFilter = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        # Snapshots hold times as naive UTC, so the date of a time is its UTC day.
        filters = [
            *by_day("cast(used_at as date)", first, last),
            ("key", "key_name = $key", key),
        ]
        order = "used_at desc, seq desc"
        return await report(
            request, caller, "gold.dormant_key_uses", filters, order, (limit, cursor)
        )

    return router
