"""`GET /web/events`: tracked events per day and name, under the names the site sends."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dataplatform.core.access import Principal
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import CAN_READ, gold
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters

EVENTS = """
select day, event, events, users, conversions, revenue
from e
where day between ? and ? and (?::varchar is null or event = ?)
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


def events_router(timezone: str) -> APIRouter:
    router = APIRouter()
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
            {"e": gold("events")},
            [first_day, last_day, name, name],
            limit=limit,
            cursor=cursor,
        )
        return JSONOut({**period.as_json(), "timezone": timezone, "name": name, **page})

    return router
