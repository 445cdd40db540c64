"""What user-segmentation answers: its API router, mounted at `/segments`.

Routes answer with DuckDB SQL over the product's gold tables through `gold_rows` / `gold_page`
(PII masked for callers without `pii:read`, every read audited); rule segment changes and
training are written to the audit log with `audit_action`. Reads need
`product:user-segmentation:read`, changes and training `product:user-segmentation:write`.
"""

from typing import TYPE_CHECKING

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from user_segmentation.serving import members, people
from user_segmentation.serving._common import PRODUCT
from user_segmentation.serving.models import models_router
from user_segmentation.serving.segments import add_segment_routes

if TYPE_CHECKING:
    from user_segmentation.product import UserSegmentationSettings


def create_router(context: "ProductContext[UserSegmentationSettings]") -> APIRouter:
    """The product's routes under its settings in force, and its published gold tables
    (`GET /segments/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    # Fixed paths first: `/segments/models` must not be taken for a segment id.
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    router.include_router(models_router(context.settings))
    router.include_router(people.router)
    add_segment_routes(router)
    router.include_router(members.router)
    return router
