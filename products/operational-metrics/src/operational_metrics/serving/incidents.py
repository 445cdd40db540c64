"""`GET /ops/incidents`: burn-rate incidents, newest first."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from dataplatform.core.bounds import ReportTime, as_utc
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page, page_answer
from operational_metrics.serving._access import Reader
from operational_metrics.serving._common import (
    Cursor,
    Limit,
    ProductName,
    check_time_order,
    known_product,
)
from operational_metrics.serving._products import watched_names
from operational_metrics.settings import OperationalMetricsSettings

# Incidents overlapping [from, to): opened before `to`, and still open or resolved after `from`.
SQL = """
select
    incident_id, product, slo, severity, state, opened_at, resolved_at,
    epoch(coalesce(resolved_at, last_evaluated_at) - opened_at) / 60 as minutes_open,
    burn_rate, long_burn_at_open, short_burn_at_open, peak_long_burn, peak_short_burn,
    short_burn_at_resolve, last_evaluated_at
from incidents
where product = coalesce($product, product)
and slo = coalesce($slo, slo)
and severity = coalesce($severity, severity)
and state = coalesce($state, state)
and opened_at < coalesce($end, opened_at + interval 1 minute)
and coalesce(resolved_at, 'infinity'::timestamptz) >= coalesce($start, opened_at)
order by opened_at desc, incident_id
"""


def incidents_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """`GET /incidents`, over the product's incidents."""
    router = APIRouter()
    tables = {"incidents": context.table("gold.incidents")}

    @router.get(
        "/incidents", summary="Burn-rate incidents (fast, slow), open and resolved, newest first"
    )
    async def incidents(
        request: Request,
        caller: Reader,
        product: ProductName = None,
        slo: Annotated[
            str | None,
            Query(
                pattern="^[A-Za-z0-9_.-]{1,128}$",
                description="An SLO's name; every SLO when absent.",
            ),
        ] = None,
        severity: Annotated[
            Literal["fast", "slow"] | None, Query(description="fast or slow; both when absent.")
        ] = None,
        state: Annotated[
            Literal["open", "resolved"] | None,
            Query(description="open or resolved; both when absent."),
        ] = None,
        start: Annotated[
            ReportTime | None,
            Query(
                alias="from", description="Incidents still open at or after this time (ISO 8601)."
            ),
        ] = None,
        end: Annotated[
            ReportTime | None, Query(alias="to", description="Incidents opened before this time.")
        ] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        known_product(product, list(watched_names()))
        start = as_utc(start) if start is not None else None
        end = as_utc(end) if end is not None else None
        check_time_order(start, end)
        query = {"product": product, "slo": slo, "severity": severity, "state": state}
        page = await gold_page(
            request,
            caller,
            SQL,
            tables=tables,
            params={**query, "start": start, "end": end},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page_answer(page, **query, **{"from": start, "to": end}))

    return router
