"""`GET /mobile/events`: track events per day and name, under the names the app sends."""

from fastapi import APIRouter, Request

from dataplatform.core.bounds import EventNameFilter
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
)
from mobile_user_analytics.settings import MobileUserAnalyticsSettings

DEFAULT_DAYS = 7
SQL = """
select day, event, role, events, users, revenue
from events
where day between $from and $to and ($name::varchar is null or event = $name)
order by day, events desc, event
"""


def events_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The route, over the product's gold.events."""
    router = APIRouter()
    tables = {"events": context.table("gold.events")}

    @router.get("/events", summary="Track events per day (UTC) and name, paged")
    async def events(
        request: Request,
        caller: Reader,
        first: FirstDay = None,
        last: LastDay = None,
        name: EventNameFilter = None,
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
            period_column=("events", "day"),
            params={"name": name},
            echoed={"name": name},
            limit=limit,
            cursor=cursor,
        )

    return router
