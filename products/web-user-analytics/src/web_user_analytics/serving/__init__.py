"""What web-user-analytics answers: its API router, mounted at `/web`."""

from fastapi import APIRouter

from dataplatform.core.serving import published_tables_router
from web_user_analytics.storage import TABLES


def create_router() -> APIRouter:
    """The product's routes: today its published gold tables (`GET /web/tables`, paged).
    Its own endpoints (`GET /web/overview`, `/web/sessions`, `/web/pages/top`, `/web/sources`, `/web/devices`, `/web/funnels`, `/web/users/{user_id}/sessions`, `/web/realtime`) come with the product's own issue."""
    router = APIRouter(tags=["web-user-analytics"])
    router.include_router(published_tables_router("web-user-analytics", TABLES))
    return router
