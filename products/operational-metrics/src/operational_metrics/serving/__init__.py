"""What operational-metrics answers: its API router, mounted at `/ops`.

Each route runs SQL over the product's gold tables through `gold_rows` / `gold_page` (reads are
audited); list routes page with `limit` and a `cursor` that pins the tables' versions.
"""

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from operational_metrics.serving._access import PRODUCT
from operational_metrics.serving.alerts import alerts_router
from operational_metrics.serving.incidents import incidents_router
from operational_metrics.serving.overview import overview_router
from operational_metrics.serving.products import products_router
from operational_metrics.serving.slos import slos_router
from operational_metrics.serving.timeseries import timeseries_router
from operational_metrics.settings import OperationalMetricsSettings


def create_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """The product's routes, and its published gold tables (`GET /ops/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    for area_router in (
        overview_router,
        products_router,
        slos_router,
        incidents_router,
        alerts_router,
        timeseries_router,
    ):
        router.include_router(area_router(context))
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
