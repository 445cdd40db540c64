"""`GET /mobile/retention`: N-day retention of each first-seen-day cohort."""

from collections.abc import Sequence

from fastapi import APIRouter, Request

from dataplatform.core.serving import JSONOut, gold_page
from mobile_user_analytics.serving._common import (
    RETENTION,
    Caller,
    Cursor,
    FirstDay,
    LastDay,
    Limit,
    day_range,
    page_answer,
    today,
)

DEFAULT_DAYS = 90
# Day N of a cohort is over once the cohort day + N is before today (UTC): until then its share
# is null, since users may still come back that day. Today comes from the process's clock, not
# DuckDB's, so a request has one idea of today (and a test can freeze it).
SQL = """
with cohorts as (
    select cohort_day, any_value(cohort_users) as users
    from retention
    where cohort_day between $first and $last
    group by cohort_day
),
wanted as (select unnest($days::integer[]) as day_n)
select
    cohorts.cohort_day,
    cohorts.users,
    list({
        'day': wanted.day_n,
        'retained_users': case when cohorts.cohort_day + wanted.day_n < $today::date
            then coalesce(retention.retained_users, 0) end,
        'rate': case when cohorts.cohort_day + wanted.day_n < $today::date
            then coalesce(retention.retained_users, 0) / cohorts.users end
    } order by wanted.day_n) as retention
from cohorts
cross join wanted
left join retention
    on retention.cohort_day = cohorts.cohort_day and retention.day_n = wanted.day_n
group by cohorts.cohort_day, cohorts.users
order by cohorts.cohort_day
"""


def retention_router(days: Sequence[int]) -> APIRouter:
    """The route, answering N-day retention for each N of `days` (the product's setting)."""
    router = APIRouter()
    wanted = sorted(set(days))

    @router.get("/retention", summary="N-day retention per first-seen-day cohort (UTC)")
    async def retention(
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
            tables={"retention": RETENTION},
            params={"first": first, "last": last, "days": wanted, "today": today()},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page_answer(page, **{"from": first, "to": last}, days=wanted))

    return router
