"""`GET /mobile/active-users`: DAU, WAU and MAU per day."""

from fastapi import APIRouter, Request

from dataplatform.core.serving import JSONOut, gold_page
from mobile_user_analytics.serving._common import (
    ACTIVE_USERS,
    Caller,
    Cursor,
    FirstDay,
    LastDay,
    Limit,
    day_range,
    page_answer,
)

DEFAULT_DAYS = 30
SQL = """
select day, dau, wau, mau
from active_users
where day between ? and ?
order by day
"""

router = APIRouter()


@router.get("/active-users", summary="DAU, WAU and MAU per day (UTC)")
async def active_users(
    request: Request,
    caller: Caller,
    first: FirstDay = None,
    last: LastDay = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> JSONOut:
    first, last = day_range(first, last, DEFAULT_DAYS)
    page = await gold_page(
        request,
        caller,
        SQL,
        tables={"active_users": ACTIVE_USERS},
        params=[first, last],
        limit=limit,
        cursor=cursor,
    )
    return JSONOut(page_answer(page, **{"from": first, "to": last}))
