"""The insights routes a product mounts over its events: `POST {prefix}/insights/trends`."""

from typing import Annotated

from fastapi import APIRouter, Request

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.insights._queries import TrendsQuery
from dataplatform.core.insights._source import EventSource
from dataplatform.core.insights._trends import trends
from dataplatform.core.serving import JSONOut


def insights_router(product: str, source: EventSource, *, timezone: str) -> APIRouter:
    """The insights routes over `source`, in `timezone` unless a request names another."""
    router = APIRouter(prefix="/insights", tags=[product])
    can_read = require(product_permission(product, "read"))

    @router.post(
        "/trends",
        summary="Trends of any events: counts, people or a property's statistic per interval",
        description=(
            "Each series counts events of a name (several, or all), the people who did them, "
            "or a statistic of a numeric property, per minute, hour, day, week or month in the "
            "timezone; filtered by properties, split by one property's most frequent values "
            "(the rest as `other`), beside the period before, and combined by a formula."
        ),
    )
    async def trends_route(
        query: TrendsQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await trends(request, caller, source, query, timezone))

    return router
