"""What mobile-user-analytics answers: its API router, mounted at `/mobile`.

Each route runs SQL over the product's gold tables through `gold_rows` / `gold_page`, which mask
PII for callers without `pii:read` and write the read to the audit log; list routes page with
`limit` and a `cursor` that pins the tables' versions.
"""

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from mobile_user_analytics.serving._access import PRODUCT
from mobile_user_analytics.serving.active_users import active_users_router
from mobile_user_analytics.serving.activity import activity_router
from mobile_user_analytics.serving.events import events_router
from mobile_user_analytics.serving.insights import mobile_insights_router
from mobile_user_analytics.serving.retention import retention_router
from mobile_user_analytics.serving.users import users_router
from mobile_user_analytics.serving.versions import versions_router
from mobile_user_analytics.settings import MobileUserAnalyticsSettings


def create_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The product's routes under its settings in force, and its published gold tables
    (`GET /mobile/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    for area_router in (
        users_router,
        activity_router,
        active_users_router,
        retention_router,
        versions_router,
        events_router,
        mobile_insights_router,
    ):
        router.include_router(area_router(context))
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
