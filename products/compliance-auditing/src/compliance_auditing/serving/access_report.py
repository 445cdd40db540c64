"""`/compliance/access-report`: who read which table and column; `/pii`: PII reads by user and
role; `/anomalies`: days a user read far above their own baseline; `/dormant-keys`: API keys
used again after sitting idle. All from the product's gold tables, by UTC day, paged."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from compliance_auditing.serving._common import (
    ACCESS_ANOMALIES,
    COLUMN_READS,
    DORMANT_KEY_USES,
    PII_READS,
    Actor,
    Auditor,
    FirstDay,
    LastDay,
    TableFilter,
    check_days,
    filtered,
)
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

router = APIRouter()


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
    check_days(first, last)
    sql, params = filtered(
        "select * from reads",
        [
            ("day >= ?", first),
            ("day <= ?", last),
            ("actor = ?", actor),
            ("table_name = ?", table),
            ("column_name = ?", column),
        ],
        "order by day desc, actor, table_name, column_name",
    )
    tables = {"reads": COLUMN_READS}
    return JSONOut(
        await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
    )


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
    check_days(first, last)
    sql, params = filtered(
        "select * from pii",
        [
            ("day >= ?", first),
            ("day <= ?", last),
            ("actor = ?", actor),
            ("role = ?", role),
            ("table_name = ?", table),
        ],
        "order by day desc, actor, role, table_name",
    )
    return JSONOut(
        await gold_page(
            request, caller, sql, {"pii": PII_READS}, params, limit=limit, cursor=cursor
        )
    )


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
    check_days(first, last)
    sql, params = filtered(
        "select * from anomalies",
        [("day >= ?", first), ("day <= ?", last), ("actor = ?", actor)],
        "order by day desc, actor",
    )
    tables = {"anomalies": ACCESS_ANOMALIES}
    return JSONOut(
        await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
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
    check_days(first, last)
    # Snapshots hold times as naive UTC, so the date of a time is its UTC day.
    sql, params = filtered(
        "select * from uses",
        [
            ("cast(used_at as date) >= ?", first),
            ("cast(used_at as date) <= ?", last),
            ("key_name = ?", key),
        ],
        "order by used_at desc, seq desc",
    )
    tables = {"uses": DORMANT_KEY_USES}
    return JSONOut(
        await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
    )
