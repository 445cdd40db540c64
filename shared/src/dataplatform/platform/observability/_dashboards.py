"""Grafana dashboards: one per product (its traffic, latency, SLO error ratios and burn rates,
freshness, model runs) and one for the platform (collector, audit, serving, lake operations),
each panel a query of a metric the services export or of a generated recording rule."""

from typing import Any

from dataplatform.core.config import SLO
from dataplatform.core.product import Product
from dataplatform.platform.observability._slos import (
    CAUGHT_UP,
    DURATION,
    ERROR_RATIO,
    REQUESTS,
    Window,
    routes_of,
)

_WIDTH, _HEIGHT = 12, 8


def product_dashboard(
    product: Product, slos: list[SLO], windows: tuple[Window, ...]
) -> dict[str, Any]:
    routes = routes_of(product)
    fast = windows[0]
    panels = [
        (
            "Requests per second by status",
            "reqps",
            [
                (f"sum by (status) (rate({REQUESTS}{{{routes}}}[5m]))", "{{status}}"),
            ],
        ),
        ("Latency", "s", [(_quantile(q, routes), f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)]),
        (
            f"SLO error ratio over {fast.long_minutes} minutes",
            "percentunit",
            [
                (
                    f'{ERROR_RATIO.format(window=f"{fast.long_minutes}m")}{{product="{product.name}"}}',
                    "{{slo}}",
                ),
            ],
        ),
        (
            f"Burn rate over {fast.long_minutes} minutes (1 = the budget lasts the period)",
            "none",
            [
                (
                    f"{ERROR_RATIO.format(window=f'{fast.long_minutes}m')}"
                    f'{{product="{product.name}",slo="{slo.name}"}} / {1 - slo.target:.6g}',
                    slo.name,
                )
                for slo in slos
                if slo.target < 1
            ],
        ),
        (
            "Age of the newest gold model's catch-up",
            "s",
            [
                (f'time() - max({CAUGHT_UP}{{product="{product.name}",layer="gold"}})', "gold"),
            ],
        ),
        (
            "Model runs per 5 minutes by status",
            "none",
            [
                (
                    f'sum by (status) (increase(dataplatform_model_runs_total{{product="{product.name}"}}[5m]))',
                    "{{status}}",
                ),
            ],
        ),
    ]
    return _dashboard(f"dataplatform-{product.name}", f"{product.name} ({product.owner})", panels)


def platform_dashboard() -> dict[str, Any]:
    panels = [
        (
            "Collector events per second by outcome",
            "ops",
            [
                ("sum by (outcome) (rate(dataplatform_collector_events_total[5m]))", "{{outcome}}"),
            ],
        ),
        (
            "Requests per second by status",
            "reqps",
            [
                (f"sum by (status) (rate({REQUESTS}[5m]))", "{{status}}"),
            ],
        ),
        (
            "Unexpected errors per second",
            "ops",
            [
                (
                    "sum by (service, error) (rate(dataplatform_http_internal_errors_total[5m]))",
                    "{{service}} {{error}}",
                ),
            ],
        ),
        (
            "Audit entries buffered",
            "none",
            [
                ("sum(dataplatform_audit_pending_entries)", "pending"),
            ],
        ),
        (
            "Answer cache",
            "ops",
            [
                ("sum by (outcome) (rate(dataplatform_serving_answers_total[5m]))", "{{outcome}}"),
            ],
        ),
        (
            "Lake operations, p99",
            "s",
            [
                (
                    "histogram_quantile(0.99, sum by (le, operation) "
                    "(rate(dataplatform_operation_duration_seconds_bucket[5m])))",
                    "{{operation}}",
                ),
            ],
        ),
    ]
    return _dashboard("dataplatform-platform", "Data Platform", panels)


def _quantile(quantile: float, routes: str) -> str:
    return f"histogram_quantile({quantile}, sum by (le) (rate({DURATION}_bucket{{{routes}}}[5m])))"


def _dashboard(
    uid: str, title: str, panels: list[tuple[str, str, list[tuple[str, str]]]]
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["dataplatform", "generated"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel_title,
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "gridPos": {
                    "x": (index % 2) * _WIDTH,
                    "y": (index // 2) * _HEIGHT,
                    "w": _WIDTH,
                    "h": _HEIGHT,
                },
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + number), "expr": expr, "legendFormat": legend}
                    for number, (expr, legend) in enumerate(queries)
                ],
            }
            for index, (panel_title, unit, queries) in enumerate(panels)
        ],
    }
