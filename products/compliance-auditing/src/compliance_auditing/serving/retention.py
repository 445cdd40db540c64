"""`/compliance/retention`: what the `enforce_retention` job did, per run and table, newest first."""

from typing import Literal

from fastapi import APIRouter, Request

from compliance_auditing.retention import RETENTION_TABLE
from compliance_auditing.serving._common import (
    FirstDay,
    LastDay,
    Reader,
    TableFilter,
    check_days,
    filtered,
)
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page

router = APIRouter()


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
    check_days(first, last)
    sql, params = filtered(
        "select * from runs",
        [
            ("cast(run_at as date) >= ?", first),
            ("cast(run_at as date) <= ?", last),
            ("table_name = ?", table),
            ("status = ?", status),
        ],
        "order by run_at desc, table_name",
    )
    tables = {"runs": RETENTION_TABLE}
    return JSONOut(
        await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
    )
