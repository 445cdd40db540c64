"""`GET /ops/slos`: every SLO with its compliance, error budget, burn rates and status."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page, page_answer
from operational_metrics.serving._access import Reader
from operational_metrics.serving._common import (
    OPEN_INCIDENTS_SQL,
    SLO_STATUS_SQL,
    Cursor,
    Limit,
    ProductName,
    SloState,
    known_product,
)
from operational_metrics.serving._products import watched_names
from operational_metrics.settings import OperationalMetricsSettings

SQL = f"""
with {OPEN_INCIDENTS_SQL},
slos as (
    select
        slo_status.product, slo_status.slo, {SLO_STATUS_SQL} as status,
        slo_status.indicator, slo_status.threshold, slo_status.target, slo_status.description,
        slo_status.evaluated_at,
        slo_status.compliance_1h, slo_status.compliance_24h, slo_status.compliance_30d,
        slo_status.good_1h, slo_status.total_1h, slo_status.good_24h, slo_status.total_24h,
        slo_status.good_30d, slo_status.total_30d,
        slo_status.error_budget_left, slo_status.latency_bucket_ms,
        slo_status.fast_long_burn, slo_status.fast_short_burn,
        slo_status.slow_long_burn, slo_status.slow_short_burn,
        slo_status.fast_firing, slo_status.slow_firing,
        coalesce(open_incidents.fast, 0) + coalesce(open_incidents.slow, 0) as open_incidents
    from slo_status
    left join open_incidents using (product, slo)
)
select * from slos
where product = coalesce($product, product) and status = coalesce($status, status)
order by product, slo
"""


def slos_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """`GET /slos`, over the product's SLO status and incidents."""
    router = APIRouter()
    tables = {alias: context.table(f"gold.{alias}") for alias in ("slo_status", "incidents")}

    @router.get("/slos", summary="SLOs: compliance over 1 h, 24 h, 30 d, error budget, burn rates")
    async def slos(
        request: Request,
        caller: Reader,
        product: ProductName = None,
        status: Annotated[
            SloState | None, Query(description="Only SLOs in this status; every SLO when absent.")
        ] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        known_product(product, list(watched_names()))
        page = await gold_page(
            request,
            caller,
            SQL,
            tables=tables,
            params={"product": product, "status": status},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page_answer(page, product=product, status=status))

    return router
