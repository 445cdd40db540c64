"""What mobile-user-analytics answers: its API router, mounted at `/mobile`."""

from fastapi import APIRouter

from dataplatform.core.serving import published_tables_router
from mobile_user_analytics.storage import TABLES


def create_router() -> APIRouter:
    """The product's routes: today its published gold tables (`GET /mobile/tables`, paged).
    Its own endpoints (`GET /mobile/users/{user_id}/summary`, `/mobile/activity`, `/mobile/active-users`, `/mobile/retention`, `/mobile/crashes`, `/mobile/versions`) come with the product's own issue."""
    router = APIRouter(tags=["mobile-user-analytics"])
    router.include_router(published_tables_router("mobile-user-analytics", TABLES))
    return router
