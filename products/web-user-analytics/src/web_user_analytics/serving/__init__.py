"""What web-user-analytics answers: its API router, mounted at `/web`.

One small router per resource, each answering from gold tables through `gold_rows` /
`gold_page` (PII masked, reads audited); the published gold tables stay at `/web/tables`.
"""

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from web_user_analytics.serving._access import PRODUCT
from web_user_analytics.serving.events import events_router
from web_user_analytics.serving.funnels import funnels_router
from web_user_analytics.serving.insights import web_insights_router
from web_user_analytics.serving.overview import overview_router
from web_user_analytics.serving.pages import pages_router
from web_user_analytics.serving.realtime import realtime_router
from web_user_analytics.serving.sessions import sessions_router
from web_user_analytics.serving.traffic import traffic_router
from web_user_analytics.settings import WebUserAnalyticsSettings


def create_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The product's routes under its settings in force (built again when they change)."""
    router = APIRouter(tags=[PRODUCT])
    for area_router in (
        overview_router,
        sessions_router,
        pages_router,
        traffic_router,
        events_router,
        funnels_router,
        web_insights_router,
        realtime_router,
    ):
        router.include_router(area_router(context))
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
