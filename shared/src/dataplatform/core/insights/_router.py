"""The insights routes a product mounts over its events: `POST {prefix}/insights/trends`,
`/paths` and `/stickiness`."""

from typing import Annotated

from fastapi import APIRouter, Request

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.insights._paths import paths, stickiness
from dataplatform.core.insights._queries import PathsQuery, StickinessQuery, TrendsQuery
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

    @router.post(
        "/paths",
        summary="Paths: what people did after (or before) an event, step by step",
        description=(
            "From each person's first event matching `start` in the period, their next (or "
            "previous) `steps` events, named as pages, screens or events: people reaching and "
            "dropping off at each step, the most common moves per step (a Sankey diagram's "
            "links) and the most common whole sequences."
        ),
    )
    async def paths_route(
        query: PathsQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await paths(request, caller, source, query, timezone))

    @router.post(
        "/stickiness",
        summary="Stickiness: on how many days of the period people did an event",
    )
    async def stickiness_route(
        query: StickinessQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await stickiness(request, caller, source, query, timezone))

    return router
