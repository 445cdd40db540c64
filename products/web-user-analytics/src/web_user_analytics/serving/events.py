"""`GET /web/events`: tracked events per day and name, under the names the site sends."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dataplatform.core.bounds import EventNameFilter
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import Reader
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

EVENTS = """
select day, event, events, users, conversions, revenue
from e
where day between $first and $last and ($name::varchar is null or event = $name)
order by day, events desc, event
"""


def events_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    events_table = context.table("gold.events")
    period_of = period_parameters(timezone)

    @router.get("/events", summary="Tracked events per day and name, paged")
    async def events(
        request: Request,
        caller: Reader,
        period: Annotated[Period, Depends(period_of)],
        name: EventNameFilter = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        first_day, last_day = period.days(timezone)
        page = await gold_page(
            request,
            caller,
            EVENTS,
            {"e": events_table},
            {"first": first_day, "last": last_day, "name": name},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut({**period.as_json(), "timezone": timezone, "name": name, **page})

    return router
