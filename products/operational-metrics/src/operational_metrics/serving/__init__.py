"""What operational-metrics answers: its API router, mounted at `/ops`.

Each route runs SQL over the product's gold tables through `gold_rows` / `gold_page` (reads are
audited); list routes page with `limit` and a `cursor` that pins the tables' versions.
"""

from typing import Any

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from operational_metrics.serving import incidents, overview, products, slos, timeseries
from operational_metrics.serving._common import PRODUCT


def create_router(context: ProductContext[Any]) -> APIRouter:
    """The product's routes, and its published gold tables (`GET /ops/tables`, paged); no
    setting shapes them."""
    router = APIRouter(tags=[PRODUCT])
    router.include_router(overview.router)
    router.include_router(products.router)
    router.include_router(slos.router)
    router.include_router(incidents.router)
    router.include_router(timeseries.router)
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
