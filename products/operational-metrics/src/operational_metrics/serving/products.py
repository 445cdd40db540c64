"""`GET /ops/products/{name}`: one product's status, SLOs, open incidents, last hour's traffic,
ingestion and model runs, freshness, tables and models."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from dataplatform.core.access import Principal
from dataplatform.core.errors import NotFoundError, did_you_mean
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_rows
from operational_metrics.serving._access import Reader
from operational_metrics.serving._common import (
    BUS_LAG_NOT_MEASURED,
    OPEN_INCIDENTS_SQL,
    SLO_STATUS_SQL,
    product_status_sql,
)
from operational_metrics.serving._products import watched_names
from operational_metrics.settings import OperationalMetricsSettings

SLOS_SQL = f"""
with {OPEN_INCIDENTS_SQL},
slos as (
    select slo_status.*, {SLO_STATUS_SQL} as slo_state
    from slo_status
    left join open_incidents using (product, slo)
    where slo_status.product = $product
)
select
    slo, slo_state as status, indicator, threshold, target, evaluated_at, compliance_1h,
    compliance_24h, compliance_30d, error_budget_left, fast_long_burn, fast_short_burn,
    slow_long_burn, slow_short_burn,
    {product_status_sql("over ()")} as product_status
from slos
order by slo
"""
OPEN_SQL = """
select incident_id, slo, severity, opened_at, burn_rate, peak_long_burn, peak_short_burn,
       last_evaluated_at
from incidents
where product = $product and state = 'open'
order by opened_at desc, incident_id
"""
# The last hour: the 60 minutes ending with the latest minute measured.
LAST_HOUR_SQL = """
with clock as (select max(minute) as latest from product_freshness)
select
    clock.latest as until,
    (select sum(requests) from api_traffic where product = $product and minute > latest - interval 1 hour)
        as requests,
    (select sum(server_errors) / nullif(sum(requests), 0) from api_traffic
        where product = $product and minute > latest - interval 1 hour) as error_rate,
    (select 1000 * sum(latency_sum_seconds) / nullif(sum(latency_count), 0) from api_traffic
        where product = $product and minute > latest - interval 1 hour) as latency_mean_ms,
    (select sum(rows_added) from table_volumes
        where product = $product and layer = 'bronze' and minute > latest - interval 1 hour)
        as ingested_rows,
    (select sum(bytes_added) from table_volumes
        where product = $product and layer = 'bronze' and minute > latest - interval 1 hour)
        as ingested_bytes,
    (select sum(rows_added) from table_volumes
        where product = $product and layer = 'quarantine' and minute > latest - interval 1 hour)
        as quarantined_rows,
    (select sum(runs) from model_activity where product = $product and minute > latest - interval 1 hour)
        as model_runs,
    (select sum(failures) from model_activity
        where product = $product and minute > latest - interval 1 hour) as model_failures
from clock
"""
FRESHNESS_SQL = """
select measured_at, newest_bronze_at, newest_gold_at, gold_age_seconds, bronze_to_gold_lag_seconds
from product_freshness
where product = $product and minute = (select max(minute) from product_freshness)
"""
# The bus as of the latest minute any product's bus was measured in.
BUS_LAG_SQL = """
select bus, measured_at, streams, waiting_events, oldest_waiting_seconds as seconds
from bus_lag
where product = $product and minute = (select max(minute) from bus_lag)
"""
TABLES_SQL = """
select table_name, layer, version, row_count, size_bytes, last_modified, age_seconds,
       behind_bronze_seconds
from table_freshness
where product = $product
order by table_name
"""
MODELS_SQL = """
select model, last_status, last_finished_at, last_duration_ms, last_rows_out, last_checks_failed,
       last_error, last_success_at, last_failure_at, failures_in_a_row, runs, failures
from model_status
where product = $product
order by model
"""


def products_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """`GET /products/{name}`, over the product's status, freshness, volume and model tables."""
    router = APIRouter()
    table = {
        alias: context.table(f"gold.{alias}")
        for alias in (
            "slo_status",
            "incidents",
            "api_traffic",
            "product_freshness",
            "table_freshness",
            "table_volumes",
            "model_activity",
            "model_status",
            "bus_lag",
        )
    }

    async def rows_of(
        request: Request, caller: Principal, sql: str, aliases: tuple[str, ...], name: str
    ) -> list[dict[str, Any]]:
        """The rows of `sql` over the tables `aliases` name, for product `name`."""
        tables = {alias: table[alias] for alias in aliases}
        rows = await gold_rows(request, caller, sql, tables, {"product": name})
        return [dict(row) for row in rows]

    @router.get(
        "/products/{name}",
        summary="One product: status, SLOs, open incidents, last hour, freshness, tables, models",
    )
    async def product_detail(
        name: Annotated[
            str, Path(pattern="^[a-z][a-z0-9-]{0,63}$", description="The product's name.")
        ],
        request: Request,
        caller: Reader,
    ) -> JSONOut:
        if name not in watched_names():
            raise NotFoundError(
                f"No product `{name}` is installed; the metrics cover "
                f"{', '.join(watched_names())}.{did_you_mean(name, watched_names())}"
            )
        slos = await rows_of(request, caller, SLOS_SQL, ("slo_status", "incidents"), name)
        last_hour = await rows_of(
            request,
            caller,
            LAST_HOUR_SQL,
            ("product_freshness", "api_traffic", "table_volumes", "model_activity"),
            name,
        )
        freshness = await rows_of(request, caller, FRESHNESS_SQL, ("product_freshness",), name)
        bus = await rows_of(request, caller, BUS_LAG_SQL, ("bus_lag",), name)
        answer: dict[str, Any] = {
            "product": name,
            "status": slos[0]["product_status"] if slos else "no_data",
            "slos": [{k: v for k, v in slo.items() if k != "product_status"} for slo in slos],
            "open_incidents": await rows_of(request, caller, OPEN_SQL, ("incidents",), name),
            "last_hour": last_hour[0] if last_hour else None,
            "freshness": freshness[0] if freshness else None,
            "bus_lag": _bus_lag(bus),
            "tables": await rows_of(request, caller, TABLES_SQL, ("table_freshness",), name),
            "models": await rows_of(request, caller, MODELS_SQL, ("model_status",), name),
        }
        return JSONOut(answer)

    return router


def _bus_lag(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """The bus lag measured, or why there is no figure (never a made-up 0)."""
    if measured:
        return {"measured": True, **measured[0]}
    return {"measured": False, "waiting_events": None, "seconds": None, "why": BUS_LAG_NOT_MEASURED}
