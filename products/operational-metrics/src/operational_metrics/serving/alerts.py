"""`/ops/alerts`: the deliveries of incidents to the alert webhooks, and silences.

`POST /ops/alerts/silences` silences the alerts of a product, an SLO or both (every one when
neither is named) for some minutes; the deliveries it holds back are recorded as `silenced`.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

import anyio
import pyarrow as pa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, lake_of
from operational_metrics.serving._access import Reader, Writer
from operational_metrics.settings import OperationalMetricsSettings
from operational_metrics.storage import ALERT_DELIVERIES, ALERT_SILENCES, ALERT_SILENCES_SCHEMA

Status = Literal["delivered", "failed", "silenced", "dead"]


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(None, max_length=100, description="Only this product's alerts.")
    slo: str | None = Field(None, max_length=100, description="Only this SLO's alerts.")
    minutes: int = Field(ge=1, le=43_200, description="How long, from now (30 days at most).")
    comment: str = Field(min_length=1, max_length=1000, description="Why: shown to on-call.")


def alerts_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    router = APIRouter(prefix="/alerts")
    deliveries = context.table(ALERT_DELIVERIES)
    silences = context.table(ALERT_SILENCES)

    @router.get("/deliveries", summary="Alerts sent to the webhooks, latest try first")
    async def list_deliveries(
        request: Request,
        caller: Reader,
        status: Status | None = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            "select * from d where status = $status or $status is null "
            "order by last_attempt_at desc, delivery_id",
            {"d": deliveries},
            {"status": status},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page)

    @router.get("/silences", summary="Silences, latest end first")
    async def list_silences(
        request: Request, caller: Reader, limit: PageLimit = 100, cursor: PageCursor = None
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            "select *, ends_at > now() as active from s order by ends_at desc, silence_id",
            {"s": silences},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page)

    @router.post("/silences", status_code=201, summary="Silence alerts for some minutes")
    async def create_silence(body: SilenceIn, request: Request, caller: Writer) -> JSONOut:
        now = datetime.now(UTC)
        row = {
            "silence_id": uuid.uuid4().hex[:16],
            "product": body.product,
            "slo": body.slo,
            "starts_at": now,
            "ends_at": now + timedelta(minutes=body.minutes),
            "created_by": caller.subject,
            "comment": body.comment,
        }
        rows = pa.Table.from_pylist([row], ALERT_SILENCES_SCHEMA)
        await anyio.to_thread.run_sync(lambda: lake_of(request).append(silences, rows))
        return JSONOut(row, status_code=201)

    return router
