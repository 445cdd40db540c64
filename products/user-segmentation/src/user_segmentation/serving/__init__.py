"""What user-segmentation answers: its API router, mounted at `/segments`.

Routes answer with DuckDB SQL over the product's gold tables through `gold_rows` / `gold_page`
(PII masked for callers without `pii:read`, every read audited); rule segment changes and
training are written to the audit log with `audit_action`. Reads need
`product:user-segmentation:read`, changes and training `product:user-segmentation:write`.
"""

from fastapi import APIRouter

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router
from user_segmentation.serving._access import PRODUCT
from user_segmentation.serving.members import members_router
from user_segmentation.serving.models import models_router
from user_segmentation.serving.people import people_router
from user_segmentation.serving.segments import segments_router
from user_segmentation.settings import UserSegmentationSettings


def create_router(context: ProductContext[UserSegmentationSettings]) -> APIRouter:
    """The product's routes under its settings in force, and its published gold tables
    (`GET /segments/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    # Fixed paths first: `/segments/models` must not be taken for a segment id.
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    for area_router in (models_router, people_router, segments_router, members_router):
        # Taken over as built, each tagged with the product by its own router: FastAPI's
        # `include_router` refuses a route whose path and prefix are both empty, and `/segments`
        # itself is one (its prefix is the one the gateway gives the product's router).
        router.routes.extend(area_router(context).routes)
    return router
