"""`GET /mobile/retention`: N-day retention of each first-seen-day cohort."""

from fastapi import APIRouter, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut
from mobile_user_analytics.serving._access import Reader
from mobile_user_analytics.serving._common import (
    Cursor,
    FirstDay,
    LastDay,
    Limit,
    day_range,
    period_page,
    today,
)
from mobile_user_analytics.settings import MobileUserAnalyticsSettings

DEFAULT_DAYS = 90
# Day N of a cohort is over once the cohort day + N is before today (UTC): until then its share
# is null, since users may still come back that day. Today comes from the process's clock, not
# DuckDB's, so a request has one idea of today (and a test can freeze it).
SQL = """
with cohorts as (
    select cohort_day, any_value(cohort_users) as users
    from retention
    where cohort_day between $from and $to
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


def retention_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The route, answering N-day retention for each N of the setting `retention_days`."""
    router = APIRouter()
    tables = {"retention": context.table("gold.retention")}
    wanted = sorted(set(context.settings.retention_days))

    @router.get("/retention", summary="N-day retention per first-seen-day cohort (UTC)")
    async def retention(
        request: Request,
        caller: Reader,
        first: FirstDay = None,
        last: LastDay = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        period = day_range(first, last, DEFAULT_DAYS)
        return await period_page(
            request,
            caller,
            SQL,
            tables,
            period,
            period_column=("retention", "cohort_day"),
            params={"days": wanted, "today": today()},
            echoed={"days": wanted},
            limit=limit,
            cursor=cursor,
        )

    return router
