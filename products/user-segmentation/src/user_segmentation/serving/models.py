"""`GET /segments/models` (every ML model version, newest first) and
`POST /segments/models/train` (train a new version now)."""

import anyio
from fastapi import APIRouter, Request

from dataplatform.core.access import audit_action
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, lake_of
from user_segmentation.ml import model_json, train
from user_segmentation.serving._access import PRODUCT, Reader, Writer
from user_segmentation.settings import UserSegmentationSettings

LIST_SQL = "select * from models order by version desc"


def models_router(context: ProductContext[UserSegmentationSettings]) -> APIRouter:
    """The routes, training with the settings in force (features, k range, seed)."""
    ml_models = context.table("gold.ml_models")
    ml_assignments = context.table("gold.ml_assignments")
    router = APIRouter(tags=[PRODUCT])

    @router.get("/models", summary="ML model versions, newest first, paged")
    async def list_models(
        request: Request, caller: Reader, limit: PageLimit = 20, cursor: PageCursor = None
    ) -> JSONOut:
        page = await gold_page(
            request, caller, LIST_SQL, {"models": ml_models}, limit=limit, cursor=cursor
        )
        return JSONOut({**page, "rows": [model_json(row) for row in page["rows"]]})

    @router.post("/models/train", status_code=201, summary="Train a new ML model version now")
    async def train_now(request: Request, caller: Writer) -> JSONOut:
        trained = await anyio.to_thread.run_sync(
            lambda: train(lake_of(request), context, f"api:{caller.subject}")
        )
        audit_action(
            request,
            caller,
            "segments.models.train",
            table=ml_assignments,
            rows=trained["people"],
            version=trained["version"],
            k=trained["k"],
        )
        return JSONOut(trained, status_code=201)

    return router
