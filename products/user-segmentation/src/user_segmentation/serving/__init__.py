"""What user-segmentation answers: its API router, mounted at `/segments`."""

from fastapi import APIRouter

from dataplatform.core.serving import published_tables_router
from user_segmentation.storage import TABLES


def create_router() -> APIRouter:
    """The product's routes: today its published gold tables (`GET /segments/tables`, paged).
    Its own endpoints (`/segments` (list, create, members, per-user membership)) come with the product's own issue."""
    router = APIRouter(tags=["user-segmentation"])
    router.include_router(published_tables_router("user-segmentation", TABLES))
    return router
