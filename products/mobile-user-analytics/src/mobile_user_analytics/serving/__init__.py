"""What mobile-user-analytics answers: its API router, mounted at `/mobile`.

Each route runs SQL over the product's gold tables through `gold_rows` / `gold_page`, which mask
PII for callers without `pii:read` and write the read to the audit log; list routes page with
`limit` and a `cursor` that pins the tables' versions.
"""

from typing import TYPE_CHECKING

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from mobile_user_analytics.serving import active_users, activity, events, users, versions
from mobile_user_analytics.serving._common import PRODUCT
from mobile_user_analytics.serving.retention import retention_router

if TYPE_CHECKING:
    from mobile_user_analytics.product import MobileUserAnalyticsSettings


def create_router(context: "ProductContext[MobileUserAnalyticsSettings]") -> APIRouter:
    """The product's routes under its settings in force, and its published gold tables
    (`GET /mobile/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    router.include_router(users.router)
    router.include_router(activity.router)
    router.include_router(active_users.router)
    router.include_router(retention_router(context.settings.retention_days))
    router.include_router(versions.router)
    router.include_router(events.router)
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
