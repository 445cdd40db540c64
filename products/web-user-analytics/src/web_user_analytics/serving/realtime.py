"""`GET /web/realtime`: how many visitors were seen in the last 5 minutes."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_rows
from web_user_analytics.serving._access import Reader
from web_user_analytics.settings import WebUserAnalyticsSettings

WINDOW = timedelta(minutes=5)
VISITORS = "select count(*) as visitors from v where last_seen_at >= $since"


def realtime_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The route, over the product's visitors table."""
    visitors = context.table("gold.visitors_last_seen")
    router = APIRouter()

    @router.get("/realtime", summary="Visitors seen in the last 5 minutes")
    async def realtime(request: Request, caller: Reader) -> JSONOut:
        now = datetime.now(UTC)
        rows = await gold_rows(request, caller, VISITORS, {"v": visitors}, {"since": now - WINDOW})
        return JSONOut(
            {
                "visitors": rows[0]["visitors"] if rows else 0,
                "since": now - WINDOW,
                "as_of": now,
            }
        )

    return router
