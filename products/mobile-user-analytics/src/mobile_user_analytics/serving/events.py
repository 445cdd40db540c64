"""`GET /mobile/events`: track events per day and name, under the names the app sends."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from dataplatform.core.serving import JSONOut, gold_page
from mobile_user_analytics.serving._common import (
    EVENTS,
    Caller,
    Cursor,
    FirstDay,
    LastDay,
    Limit,
    day_range,
    page_answer,
)

DEFAULT_DAYS = 7
SQL = """
select day, event, role, events, users, revenue
from events
where day between $first and $last and ($name::varchar is null or event = $name)
order by day, events desc, event
"""

EventName = Annotated[
    str | None,
    Query(
        alias="name",
        min_length=1,
        max_length=200,
        description="Only the event of this name, matched exactly (`Application Opened`).",
    ),
]

router = APIRouter()


@router.get("/events", summary="Track events per day (UTC) and name, paged")
async def events(
    request: Request,
    caller: Caller,
    first: FirstDay = None,
    last: LastDay = None,
    name: EventName = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> JSONOut:
    first, last = day_range(first, last, DEFAULT_DAYS)
    page = await gold_page(
        request,
        caller,
        SQL,
        tables={"events": EVENTS},
        params={"first": first, "last": last, "name": name},
        limit=limit,
        cursor=cursor,
    )
    return JSONOut(page_answer(page, **{"from": first, "to": last}, name=name))
