"""What operational-metrics answers: its API router, mounted at `/ops`."""

from fastapi import APIRouter

from dataplatform.core.serving import published_tables_router
from operational_metrics.storage import TABLES


def create_router() -> APIRouter:
    """The product's routes: today its published gold tables (`GET /ops/tables`, paged).
    Its own endpoints (`/ops` (volumes, lag, freshness, errors, latency, SLOs, dashboard)) come with the product's own issue."""
    router = APIRouter(tags=["operational-metrics"])
    router.include_router(published_tables_router("operational-metrics", TABLES))
    return router
