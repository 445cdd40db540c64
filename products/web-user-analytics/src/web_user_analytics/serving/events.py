"""`GET /web/events`: tracked events per day and name, under the names the site sends."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dataplatform.core.access import Principal
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import CAN_READ
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters

EVENTS = """
select day, event, events, users, conversions, revenue
from e
where day between $first and $last and ($name::varchar is null or event = $name)
order by day, events desc, event
"""

EventName = Annotated[
    str | None,
    Query(
        alias="name",
        min_length=1,
        max_length=200,
        description="Only the event of this name, matched exactly (`Order Completed`).",
    ),
]


def events_router(context: ProductContext[Any]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    events_table = context.table("gold.events")
    period_of = period_parameters(timezone)

    @router.get("/events", summary="Tracked events per day and name, paged")
    async def events(
        request: Request,
        caller: Annotated[Principal, CAN_READ],
        period: Annotated[Period, Depends(period_of)],
        name: EventName = None,
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
