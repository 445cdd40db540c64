"""`/web/funnels`: list the funnels (config and created), create one, and its results over a
period (`/web/funnels/{funnel_id}/results?from=&to=`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut
from web_user_analytics.funnels import FunnelStep, NewFunnel
from web_user_analytics.serving._access import Reader, Writer
from web_user_analytics.serving._funnel_results import funnel_results
from web_user_analytics.serving._funnel_store import FunnelStore
from web_user_analytics.serving._params import Cursor, Limit, Period, period_parameters
from web_user_analytics.settings import WebUserAnalyticsSettings

FunnelId = Annotated[str, Path(min_length=1, max_length=64)]


def funnels_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    """The routes, with the funnels, window and timezone of the settings in force."""
    settings = context.settings
    router = APIRouter()
    period_of = period_parameters(settings.reporting_timezone)
    store = FunnelStore(settings.funnels, context.table("gold.funnel_definitions"))
    session_events = context.table("gold.session_events")

    @router.get("/funnels", summary="Funnels: those of the config, then those created, paged")
    async def list_funnels(
        request: Request,
        caller: Reader,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        return JSONOut(await store.page(request, caller, limit, cursor))

    @router.post("/funnels", status_code=201, summary="Create a funnel")
    async def create_funnel(funnel: NewFunnel, request: Request, caller: Writer) -> JSONOut:
        return JSONOut(await store.create(request, caller, funnel), status_code=201)

    @router.get("/funnels/{funnel_id}", summary="One funnel")
    async def get_funnel(funnel_id: FunnelId, request: Request, caller: Reader) -> JSONOut:
        return JSONOut(await store.find(request, caller, funnel_id))

    @router.get("/funnels/{funnel_id}/results", summary="A funnel's step counts over a period")
    async def results(
        funnel_id: FunnelId,
        request: Request,
        caller: Reader,
        period: Annotated[Period, Depends(period_of)],
    ) -> JSONOut:
        funnel = await store.find(request, caller, funnel_id)
        window = funnel["window_days"] or settings.funnel_window_days
        steps = [FunnelStep.model_validate(step) for step in funnel["steps"]]
        return JSONOut(
            {
                "funnel": funnel,
                **period.as_json(),
                "window_days": window,
                "steps": await funnel_results(
                    request, caller, session_events, steps, window, period
                ),
            }
        )

    return router
