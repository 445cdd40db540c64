"""`GET /mobile/active-users`: DAU, WAU and MAU per day."""

from fastapi import APIRouter, Request

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

DEFAULT_DAYS = 30
SQL = """
select day, dau, wau, mau
from active_users
where day between $from and $to
order by day
"""


def active_users_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The route, over the product's gold.active_users."""
    router = APIRouter()
    tables = {"active_users": context.table("gold.active_users")}

    @router.get("/active-users", summary="DAU, WAU and MAU per day (UTC)")
    async def active_users(
        request: Request,
        caller: Reader,
        first: FirstDay = None,
        last: LastDay = None,
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
            period_column=("active_users", "day"),
            limit=limit,
            cursor=cursor,
        )

    return router
