"""`GET /web/pages/top`: the most viewed pages of a period, with visitors, time on page and exits."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import Reader
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

# From the page views themselves, so that visitors are distinct over the whole period.
TOP_PAGES = """
select
    path,
    count(*) as views,
    count(distinct visitor_id) as visitors,
    count(*) filter (where is_entry) as entrances,
    count(*) filter (where is_exit) as exits,
    avg(time_on_page_seconds) as avg_time_on_page_seconds
from e
where is_pageview and timestamp >= $start and timestamp < $end
group by path
order by views desc, path
"""


def pages_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    session_events_table = context.table("gold.session_events")
    period_of = period_parameters(timezone)

    @router.get("/pages/top", summary="Pages of a period by views, paged")
    async def top_pages(
        request: Request,
        caller: Reader,
        period: Annotated[Period, Depends(period_of)],
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            TOP_PAGES,
            {"e": session_events_table},
            {"start": period.start, "end": period.end},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut({**period.as_json(), **page})

    return router
