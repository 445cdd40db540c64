"""`GET /ops/overview`: every product with a status, and the figures behind it."""

from fastapi import APIRouter, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page
from operational_metrics.serving._access import Reader
from operational_metrics.serving._common import (
    OPEN_INCIDENTS_SQL,
    SLO_STATUS_SQL,
    Cursor,
    Limit,
    product_status_sql,
)
from operational_metrics.settings import OperationalMetricsSettings

# The last hour is the 60 minutes ending with the latest one evaluated, like the SLO windows.
SQL = f"""
with {OPEN_INCIDENTS_SQL},
slos as (
    select slo_status.*, {SLO_STATUS_SQL} as slo_state,
        coalesce(open_incidents.fast, 0) + coalesce(open_incidents.slow, 0) as open_incidents
    from slo_status
    left join open_incidents using (product, slo)
),
clock as (select max(evaluated_at) as evaluated_at from slo_status),
traffic as (
    select product, sum(requests) as requests, sum(server_errors) as server_errors
    from api_traffic, clock
    where api_traffic.minute > clock.evaluated_at - interval 1 hour
    and api_traffic.minute <= clock.evaluated_at
    group by product
),
freshness as (
    select product, gold_age_seconds, bronze_to_gold_lag_seconds
    from product_freshness, clock
    where product_freshness.minute = clock.evaluated_at
),
bus as (
    select product, waiting_events, oldest_waiting_seconds
    from bus_lag, clock
    where bus_lag.minute = clock.evaluated_at
)
select
    slos.product,
    {product_status_sql()} as status,
    any_value(clock.evaluated_at) as evaluated_at,
    count(*) as slos,
    count(*) filter (where slo_state = 'ok') as slos_ok,
    count(*) filter (where slo_state = 'no_data') as slos_without_data,
    coalesce(
        list(slos.slo order by slos.slo)
            filter (where slo_state in ('fast_burn', 'slow_burn', 'target_missed')),
        []
    ) as slos_failing,
    sum(slos.open_incidents) as open_incidents,
    min(slos.error_budget_left) as lowest_error_budget_left,
    coalesce(any_value(traffic.requests), 0) as requests_1h,
    any_value(traffic.server_errors) / nullif(any_value(traffic.requests), 0) as error_rate_1h,
    any_value(freshness.gold_age_seconds) as gold_age_seconds,
    any_value(freshness.bronze_to_gold_lag_seconds) as bronze_to_gold_lag_seconds,
    any_value(bus.waiting_events) as bus_lag_events,
    any_value(bus.oldest_waiting_seconds) as bus_lag_seconds
from slos
cross join clock
left join traffic on traffic.product = slos.product
left join freshness on freshness.product = slos.product
left join bus on bus.product = slos.product
group by slos.product
order by slos.product
"""


def overview_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """`GET /overview`, over the product's SLO, incident, traffic, freshness and bus tables."""
    router = APIRouter()
    tables = {
        alias: context.table(f"gold.{alias}")
        for alias in ("slo_status", "incidents", "api_traffic", "product_freshness", "bus_lag")
    }

    @router.get(
        "/overview", summary="Every product with a status: SLOs, incidents, traffic, freshness"
    )
    async def overview(
        request: Request, caller: Reader, limit: Limit = 100, cursor: Cursor = None
    ) -> JSONOut:
        page = await gold_page(request, caller, SQL, tables=tables, limit=limit, cursor=cursor)
        return JSONOut(page)

    return router
