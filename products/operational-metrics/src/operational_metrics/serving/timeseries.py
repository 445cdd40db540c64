"""`GET /ops/timeseries`: one metric of one product (or all together), in steps, for dashboards."""

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from dataplatform.core.bounds import ReportTime, as_utc
from dataplatform.core.errors import InvalidRequestError, did_you_mean
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
from operational_metrics.serving._metrics import API_TRAFFIC, METRICS, QUANTILES, Metric, names
from operational_metrics.serving._products import traffic_owners
from operational_metrics.settings import OperationalMetricsSettings

DEFAULT_SPAN = timedelta(hours=1)
MIN_STEP, MAX_STEP = 60, 86_400
MAX_POINTS = 1440  # a day of minutes: a longer range takes a longer step

# Steps start at `$start` (rounded down to its minute) and are `$step` seconds long, up to
# `$end`; `$product` when one is asked for. A step without rows has a null value.
STEPS = """
steps as (
    select unnest(range($start::timestamptz, $end::timestamptz, to_seconds($step::bigint)))
        as step_start
),
series as (
    select steps.step_start, $step::double as step_seconds, t.*
    from steps
    left join t on t.minute >= steps.step_start
        and t.minute < steps.step_start + to_seconds($step::bigint)
        and {rows} {of_product}
)
"""
SQL = """
with {steps}
select step_start as "at", {value} as value from series group by step_start order by step_start
"""
QUANTILE_SQL = """
with {steps},
totals as (select step_start, sum(latency_count) as timed from series group by step_start),
buckets as (
    select step_start, bucket.le, sum(bucket.requests) as within
    from (select step_start, unnest(latency_buckets) as bucket from series)
    group by step_start, bucket.le
),
ranked as (
    select
        buckets.*,
        totals.timed,
        coalesce(lag(buckets.le) over by_bound, 0) as lower_le,
        coalesce(lag(buckets.within) over by_bound, 0) as below
    from buckets
    join totals using (step_start)
    window by_bound as (partition by step_start order by buckets.le)
),
quantiles as (
    select
        step_start,
        arg_min(
            lower_le + (le - lower_le) * ($rank::double * timed - below) / (within - below), le
        ) filter (where within >= $rank::double * timed) as seconds,
        max(le) as last_bound
    from ranked
    group by step_start
)
select
    steps.step_start as "at",
    1000 * case when totals.timed > 0 then coalesce(quantiles.seconds, quantiles.last_bound) end
        as value
from steps
left join totals using (step_start)
left join quantiles using (step_start)
order by steps.step_start
"""


def timeseries_router(context: ProductContext[OperationalMetricsSettings]) -> APIRouter:
    """`GET /timeseries`, over the product's per-minute series tables."""
    router = APIRouter()
    tables = {name: context.table(name) for name in {m.table for m in METRICS.values()}}

    @router.get("/timeseries", summary="One metric in steps over a time range, for dashboards")
    async def timeseries(
        request: Request,
        caller: Reader,
        metric: Annotated[
            str,
            Query(
                description="The series (default: requests): " + ", ".join(names()) + ".",
                json_schema_extra={"enum": names()},
            ),
        ] = "requests",
        product: ProductName = None,
        start: Annotated[
            ReportTime | None,
            Query(
                alias="from",
                description="Start (ISO 8601, UTC unless zoned), rounded down to its minute; "
                "default: an hour before `to`.",
            ),
        ] = None,
        end: Annotated[
            ReportTime | None, Query(alias="to", description="End, excluded; default: now.")
        ] = None,
        step: Annotated[
            int,
            Query(
                ge=MIN_STEP,
                le=MAX_STEP,
                description=f"Seconds per point, a whole number of minutes from {MIN_STEP} to {MAX_STEP}.",
            ),
        ] = 60,
        limit: Limit = 1000,
        cursor: Cursor = None,
    ) -> JSONOut:
        chosen = _metric(metric)
        known_product(product, traffic_owners())
        end = as_utc(end) if end is not None else datetime.now(UTC)
        start = as_utc(start) if start is not None else end - DEFAULT_SPAN
        start = start.replace(second=0, microsecond=0)
        _check_range(start, end, step)
        params: dict[str, object] = {"start": start, "end": end, "step": step}
        if product is not None:
            params["product"] = product
        if isinstance(chosen, Metric):
            table = chosen.table
            sql = SQL.format(steps=_steps(chosen.rows, product), value=chosen.value)
        else:
            table = API_TRAFFIC
            sql = QUANTILE_SQL.format(steps=_steps("true", product))
            params["rank"] = chosen
        page = await gold_page(
            request,
            caller,
            sql,
            tables={"t": tables[table]},
            params=params,
            limit=limit,
            cursor=cursor,
        )
        unit = chosen.unit if isinstance(chosen, Metric) else "ms"
        query = {"metric": metric, "unit": unit, "product": product, "step": step}
        return JSONOut(page_answer(page, **query, **{"from": start, "to": end}))

    return router


def _metric(name: str) -> Metric | float:
    """The metric called `name` (a quantile's rank for latency quantiles), or a 422."""
    if name in METRICS:
        return METRICS[name]
    if name in QUANTILES:
        return QUANTILES[name]
    raise InvalidRequestError(
        f"`metric` {name!r} is not a metric the API serves.{did_you_mean(name, names())} "
        f"Metrics: {', '.join(names())}.",
        field="query.metric",
    )


def _check_range(start: datetime, end: datetime, step: int) -> None:
    check_time_order(start, end)
    if step % 60:
        raise InvalidRequestError(
            f"`step` {step} is not a whole number of minutes; series are kept per minute, so "
            "give a multiple of 60 seconds.",
            field="query.step",
        )
    points = math.ceil((end - start).total_seconds() / step)
    if points > MAX_POINTS:
        raise InvalidRequestError(
            f"`from`..`to` in steps of {step} s makes {points} points; at most {MAX_POINTS} can be "
            "asked at once: give a longer `step` or a shorter range.",
            field="query.step",
        )


def _steps(rows: str, product: str | None) -> str:
    return STEPS.format(
        rows=rows, of_product="and t.product = $product" if product is not None else ""
    )
