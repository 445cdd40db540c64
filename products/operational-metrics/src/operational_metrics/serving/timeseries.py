"""`GET /ops/timeseries`: one metric of one product (or all together), in steps, for dashboards."""

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from dataplatform.core.bounds import ReportTime
from dataplatform.core.errors import InvalidRequestError, did_you_mean
from dataplatform.core.serving import JSONOut, gold_page
from operational_metrics.serving._common import (
    API_TRAFFIC,
    Caller,
    Cursor,
    Limit,
    ProductName,
    as_utc,
    known_product,
    page_answer,
)
from operational_metrics.serving._metrics import METRICS, QUANTILES, Metric, names
from operational_metrics.serving._products import traffic_owners

DEFAULT_SPAN = timedelta(hours=1)
MIN_STEP, MAX_STEP = 60, 86_400
MAX_POINTS = 1440  # a day of minutes: a longer range takes a longer step

# Steps start at `from` (rounded down to its minute) and are `step` seconds long; parameters:
# from, to, step, step, then the product when asked for. A step without rows has a null value.
STEPS = """
steps as (
    select unnest(range(?::timestamptz, ?::timestamptz, to_seconds(?::bigint))) as step_start
),
series as (
    select steps.step_start, ?::double as step_seconds, t.*
    from steps
    left join t on t.minute >= steps.step_start
        and t.minute < steps.step_start + to_seconds(?::bigint)
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
            lower_le + (le - lower_le) * (?::double * timed - below) / (within - below), le
        ) filter (where within >= ?::double * timed) as seconds,
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

router = APIRouter()


@router.get("/timeseries", summary="One metric in steps over a time range, for dashboards")
async def timeseries(
    request: Request,
    caller: Caller,
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
    if product is not None:
        known_product(product, traffic_owners())
    end = as_utc(end) if end is not None else datetime.now(UTC)
    start = as_utc(start) if start is not None else end - DEFAULT_SPAN
    start = start.replace(second=0, microsecond=0)
    _check_range(start, end, step)
    if isinstance(chosen, Metric):
        table, value, rows = chosen.table, chosen.value, chosen.rows
        sql = SQL.format(steps=_steps(rows, product), value=value)
        params: list[object] = [start, end, step, float(step), step]
    else:
        table = API_TRAFFIC
        sql = QUANTILE_SQL.format(steps=_steps("true", product))
        params = [start, end, step, float(step), step]
    if product is not None:
        params.append(product)
    if not isinstance(chosen, Metric):
        params += [chosen, chosen]
    page = await gold_page(
        request, caller, sql, tables={"t": table}, params=params, limit=limit, cursor=cursor
    )
    unit = chosen.unit if isinstance(chosen, Metric) else "ms"
    return JSONOut(
        page_answer(
            page, metric=metric, unit=unit, product=product, step=step, **{"from": start, "to": end}
        )
    )


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
    if start >= end:
        raise InvalidRequestError(
            f"`from` ({start.isoformat()}) is not before `to` ({end.isoformat()}); give a `from` "
            "before `to`.",
            field="query.from",
        )
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
    return STEPS.format(rows=rows, of_product="and t.product = ?" if product is not None else "")
