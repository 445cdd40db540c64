"""`GET /mobile/users/{user_id}/summary`: what one user did so far; `.../timeline`: day by day."""

from fastapi import APIRouter, Request

from dataplatform.core.errors import NotFoundError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_rows
from mobile_user_analytics.serving._access import Reader
from mobile_user_analytics.serving._common import FirstDay, LastDay, day_range
from mobile_user_analytics.settings import MobileUserAnalyticsSettings

SQL = "select * from summary where user_id = $user"
TIMELINE_SQL = """
select day, platform, first_seen, last_seen, sessions, events, screen_views, purchases,
       list_sum(list_transform(revenue, lambda r: r.amount)) as revenue
from days
where user_id = $user and day between $from and $to
order by day, platform
"""
TIMELINE_DAYS = 30


def users_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The route, over the product's gold.user_summary."""
    router = APIRouter()
    summary_table = context.table("gold.user_summary")
    days_table = context.table("gold.user_days")

    @router.get(
        "/users/{user_id}/summary",
        summary="One user's first and last seen, sessions, events, platforms, versions, revenue",
    )
    async def user_summary(user_id: str, request: Request, caller: Reader) -> JSONOut:
        rows = await gold_rows(
            request, caller, SQL, tables={"summary": summary_table}, params={"user": user_id}
        )
        if not rows:
            # The id is not repeated back: it is personal data, and the caller already has it.
            raise NotFoundError(
                "No app activity is known for this user id (a signed-in user id, or an "
                "install's anonymous id); check the id, or wait for the next model run to take "
                "in new events."
            )
        return JSONOut(rows[0])

    @router.get(
        "/users/{user_id}/timeline",
        summary="One user's days (UTC): sessions, events, screens, purchases and revenue",
    )
    async def user_timeline(
        user_id: str,
        request: Request,
        caller: Reader,
        first: FirstDay = None,
        last: LastDay = None,
    ) -> JSONOut:
        start, end = day_range(first, last, TIMELINE_DAYS)
        rows = await gold_rows(
            request,
            caller,
            TIMELINE_SQL,
            tables={"days": days_table},
            params={"user": user_id, "from": start, "to": end},
            within={"days": {"day": (start, end)}},
        )
        return JSONOut({"from": start, "to": end, "days": [dict(row) for row in rows]})

    return router
