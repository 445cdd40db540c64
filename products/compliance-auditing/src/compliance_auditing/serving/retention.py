"""`/compliance/retention`: what the `enforce_retention` job did, per run and table, newest first."""

from typing import Literal

from fastapi import APIRouter, Request

from compliance_auditing.serving._access import Reader
from compliance_auditing.serving._common import FirstDay, LastDay, TableFilter, by_day, filtered
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page


def retention_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """`GET /retention`, over the product's retention runs."""
    router = APIRouter()
    tables = {"runs": context.table("gold.retention_runs")}

    @router.get("/retention", summary="Retention runs: per table, the cutoff and the rows removed")
    async def retention_runs(
        request: Request,
        caller: Reader,
        first: FirstDay = None,
        last: LastDay = None,
        table: TableFilter = None,
        status: Literal["removed", "nothing_due", "skipped", "failed"] | None = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        sql, params = filtered(
            "select * from runs",
            [
                *by_day("cast(run_at as date)", first, last),
                ("table", "table_name = $table", table),
                ("status", "status = $status", status),
            ],
            "order by run_at desc, table_name",
        )
        return JSONOut(
            await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
        )

    return router
