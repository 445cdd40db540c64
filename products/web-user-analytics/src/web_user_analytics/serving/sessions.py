"""`GET /web/sessions` (a period's sessions, newest first) and `GET /web/users/{user_id}/sessions`
(every session of one user, on any of the browsers they identified on)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from web_user_analytics.serving._access import Reader
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

Source = Literal["direct", "search", "social", "email", "paid", "referral"]
DeviceType = Literal["desktop", "mobile", "tablet", "bot", "other"]

IN_PERIOD = """
select *
from s
where started_at >= $start and started_at < $end
  and ($source::varchar is null or source = $source)
  and ($device_type::varchar is null or device_type = $device_type)
  and ($engaged::boolean is null or is_engaged = $engaged)
order by started_at desc, session_id
"""
# gold.sessions resolves each session's user through the identify links of its browser. Its
# files are sorted by user within each day (`cluster_by`): only the row groups holding the
# user's sessions are read (`keys`).
OF_USER = "select * from s where user_id = $user_id order by started_at desc, session_id"


def sessions_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, in the product's reporting timezone in force."""
    timezone = context.settings.reporting_timezone
    router = APIRouter()
    sessions_table = context.table("gold.sessions")
    period_of = period_parameters(timezone)

    @router.get("/sessions", summary="Sessions started in a period, newest first, paged")
    async def sessions(
        request: Request,
        caller: Reader,
        period: Annotated[Period, Depends(period_of)],
        limit: Limit = 100,
        cursor: Cursor = None,
        source: Annotated[Source | None, Query(description="Only this traffic source.")] = None,
        device_type: Annotated[DeviceType | None, Query(description="Only this device.")] = None,
        engaged: Annotated[
            bool | None, Query(description="Only engaged (true) or bounced (false) sessions.")
        ] = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            IN_PERIOD,
            {"s": sessions_table},
            {
                "start": period.start,
                "end": period.end,
                "source": source,
                "device_type": device_type,
                "engaged": engaged,
            },
            limit=limit,
            cursor=cursor,
            within={"s": {"started_at": (period.start, period.end)}},
        )
        return JSONOut({**period.as_json(), **page})

    @router.get("/users/{user_id}/sessions", summary="Every session of one user, newest first")
    async def user_sessions(
        request: Request,
        caller: Reader,
        user_id: Annotated[str, Path(min_length=1, max_length=200)],
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            OF_USER,
            {"s": sessions_table},
            {"user_id": user_id},
            limit=limit,
            cursor=cursor,
            keys={"s": ("user_id", [user_id])},
        )
        return JSONOut(page)

    return router
