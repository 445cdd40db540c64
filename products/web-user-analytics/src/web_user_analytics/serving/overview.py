"""`GET /web/overview`: visitors, sessions, page views, bounce rate and conversions of a period,
in total and per day."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_rows
from web_user_analytics.serving._access import Reader
from web_user_analytics.serving._params import Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

# Distinct visitors over a period are counted from the sessions: per-day counts do not add up.
TOTALS = """
select
    count(distinct visitor_id) as visitors,
    count(*) as sessions,
    coalesce(sum(pageviews), 0)::bigint as pageviews,
    count(*) filter (where is_bounce) as bounces,
    count(*) filter (where is_bounce) / nullif(count(*), 0) as bounce_rate,
    avg(duration_seconds) as avg_session_seconds,
    coalesce(sum(conversions), 0)::bigint as conversions,
    coalesce(sum(revenue), 0) as revenue
from s
where started_at >= $start and started_at < $end
"""
NO_SESSIONS = {
    "visitors": 0,
    "sessions": 0,
    "pageviews": 0,
    "bounces": 0,
    "bounce_rate": None,
    "avg_session_seconds": None,
    "conversions": 0,
    "revenue": 0.0,
}
DAYS = "select * from d where day between $first and $last order by day"


def overview_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    daily_overview_table = context.table("gold.daily_overview")
    sessions_table = context.table("gold.sessions")
    period_of = period_parameters(timezone)

    @router.get("/overview", summary="Visitors, sessions, bounce rate and conversions of a period")
    async def overview(
        request: Request,
        caller: Reader,
        period: Annotated[Period, Depends(period_of)],
    ) -> JSONOut:
        totals = await gold_rows(
            request,
            caller,
            TOTALS,
            {"s": sessions_table},
            {"start": period.start, "end": period.end},
        )
        first_day, last_day = period.days(timezone)
        days = await gold_rows(
            request,
            caller,
            DAYS,
            {"d": daily_overview_table},
            {"first": first_day, "last": last_day},
        )
        return JSONOut(
            {
                **period.as_json(),
                "timezone": timezone,
                "totals": totals[0] if totals else NO_SESSIONS,
                "days": days,
            }
        )

    return router
