"""Each product's SLOs as Prometheus sees them: the series whose ratio is the SLO's error ratio
over a window, and the burn-rate alerts' windows. The product's config declares the SLO; this is
the one place that says what each indicator means in PromQL.

- `latency_ms`: the share of the product's API requests slower than the largest latency bucket at
  or below the threshold (as operational-metrics judges it).
- `availability`: the share of its API requests answered 5xx.
- `error_rate`: the share of time the last 5 minutes' requests were more than `threshold` (a
  fraction) 5xx.
- `freshness_seconds`: the share of time its newest gold model was last caught up with its inputs
  more than `threshold` seconds ago (the runner's `dataplatform_model_caught_up_timestamp_seconds`).

A product's requests are those whose route template starts with its prefix. No traffic or no
runner gives no ratio at all, so no alert: an SLO without data is not failing.
"""

import re
from dataclasses import dataclass

from dataplatform.core.alerting import BurnRateSettings
from dataplatform.core.config import SLO
from dataplatform.core.metrics import HTTP_LATENCY_BUCKETS
from dataplatform.core.product import Product

ERROR_RATIO = "dataplatform:slo_errors:ratio_rate{window}"
# Indicators judged point by point (is it met now?) and then averaged over each window.
UNMET = "dataplatform:slo_unmet:bool"
REQUESTS = "dataplatform_http_requests_total"
DURATION = "dataplatform_http_request_duration_seconds"
CAUGHT_UP = "dataplatform_model_caught_up_timestamp_seconds"


@dataclass(frozen=True)
class Window:
    """A burn-rate alert: it fires while both windows burn faster than `rate`."""

    name: str  # fast, slow
    rate: float
    long_minutes: int
    short_minutes: int
    severity: str
    for_minutes: int


def burn_windows(policy: BurnRateSettings) -> tuple[Window, Window]:
    """The fast (paging) and slow (ticket) alerts of `policy`, the SLO-evaluating product's."""
    return (
        Window(
            "fast",
            policy.fast_burn_rate,
            policy.fast_burn_long_window_minutes,
            policy.fast_burn_short_window_minutes,
            "page",
            2,
        ),
        Window(
            "slow",
            policy.slow_burn_rate,
            policy.slow_burn_long_window_minutes,
            policy.slow_burn_short_window_minutes,
            "ticket",
            15,
        ),
    )


def window_minutes(windows: tuple[Window, ...]) -> list[int]:
    return sorted({m for w in windows for m in (w.long_minutes, w.short_minutes)})


def routes_of(product: Product) -> str:
    """A label matcher for the product's API requests (Prometheus anchors the regex)."""
    return f'route=~"{re.escape(product.prefix)}(/.*)?"'


def latency_bucket(slo: SLO) -> str:
    """The `le` of the largest bucket at or below the SLO's threshold, as Prometheus writes it."""
    seconds = slo.threshold / 1000
    fitting = [bucket for bucket in HTTP_LATENCY_BUCKETS if bucket <= seconds]
    if not fitting:
        raise ValueError(
            f"SLO `{slo.name}`: a latency threshold of {slo.threshold} ms is below the smallest "
            f"bucket ({HTTP_LATENCY_BUCKETS[0] * 1000} ms); raise it."
        )
    return repr(float(max(fitting)))  # as prometheus_client writes it: 0.2, 1.0, 2.5


def unmet_expression(product: Product, slo: SLO) -> str | None:
    """1 while a point-judged SLO is unmet, 0 while met; None for a ratio of requests."""
    routes = routes_of(product)
    if slo.indicator == "freshness_seconds":
        newest = f'max({CAUGHT_UP}{{product="{product.name}",layer="gold"}})'
        return f"(time() - {newest}) > bool {slo.threshold:g}"
    if slo.indicator == "error_rate":
        errors = f'sum(rate({REQUESTS}{{{routes},status=~"5.."}}[5m])) or vector(0)'
        return f"(({errors}) / sum(rate({REQUESTS}{{{routes}}}[5m]))) > bool {slo.threshold:g}"
    return None


def error_ratio_expression(product: Product, slo: SLO, minutes: int) -> str:
    """The SLO's error ratio over the last `minutes`."""
    window = f"[{minutes}m]"
    if unmet_expression(product, slo) is not None:
        selector = f'{UNMET}{{product="{product.name}",slo="{slo.name}"}}'
        return f"avg_over_time({selector}{window})"
    routes = routes_of(product)
    if slo.indicator == "latency_ms":
        fast = f'sum(rate({DURATION}_bucket{{{routes},le="{latency_bucket(slo)}"}}{window}))'
        return f"1 - ({fast} / sum(rate({DURATION}_count{{{routes}}}{window})))"
    errors = f'sum(rate({REQUESTS}{{{routes},status=~"5.."}}{window})) or vector(0)'
    return f"({errors}) / sum(rate({REQUESTS}{{{routes}}}{window}))"
