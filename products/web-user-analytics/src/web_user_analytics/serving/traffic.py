"""`GET /web/sources` and `GET /web/devices`: a period's sessions by where they came from and by
what they browsed on."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import Reader
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

MEASURES = """
    count(*) as sessions,
    count(distinct visitor_id) as visitors,
    count(*) filter (where is_bounce) as bounces,
    count(*) filter (where is_bounce) / count(*) as bounce_rate,
    sum(conversions)::bigint as conversions,
    sum(revenue) as revenue
"""
# Sessions, not the per-day gold tables: distinct visitors over a period do not add up by day.
BY_SOURCE = f"""
select source, utm_source, utm_medium, utm_campaign, {MEASURES}
from s
where started_at >= $start and started_at < $end
group by source, utm_source, utm_medium, utm_campaign
order by sessions desc, source, utm_source, utm_medium, utm_campaign
"""
BY_DEVICE = f"""
select device_type, browser, os, {MEASURES}
from s
where started_at >= $start and started_at < $end
group by device_type, browser, os
order by sessions desc, device_type, browser, os
"""


def traffic_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    sessions_table = context.table("gold.sessions")
    period_of = period_parameters(timezone)

    def breakdown_route(path: str, name: str, summary: str, sql: str) -> None:
        @router.get(path, name=name, summary=summary)
        async def breakdown(
            request: Request,
            caller: Reader,
            period: Annotated[Period, Depends(period_of)],
            limit: Limit = 100,
            cursor: Cursor = None,
        ) -> JSONOut:
            page = await gold_page(
                request,
                caller,
                sql,
                {"s": sessions_table},
                {"start": period.start, "end": period.end},
                limit=limit,
                cursor=cursor,
            )
            return JSONOut({**period.as_json(), **page})

    breakdown_route(
        "/sources",
        "sources",
        "Sessions of a period by traffic source and campaign, paged",
        BY_SOURCE,
    )
    breakdown_route(
        "/devices",
        "devices",
        "Sessions of a period by device type, browser and OS, paged",
        BY_DEVICE,
    )

    return router
