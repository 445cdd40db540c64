"""A product's Prometheus rules (its SLOs' error ratios and multi-window burn-rate alerts) and
the `promtool test rules` cases proving each alert fires on a bad hour and resolves after it."""

from typing import Any

from dataplatform.core.config import SLO
from dataplatform.core.product import Product
from dataplatform.platform.observability._slos import (
    CAUGHT_UP,
    DURATION,
    ERROR_RATIO,
    REQUESTS,
    UNMET,
    Window,
    error_ratio_expression,
    latency_bucket,
    unmet_expression,
    window_minutes,
)

ALERT_NAMES = {"fast": "SLOFastBurn", "slow": "SLOSlowBurn"}
RUNBOOK = "docs/runbook.md#{anchor}"
EVALUATION_SECONDS = 30
# The synthetic hour: the SLO is missed from the start until BAD_MINUTES, then met.
BAD_MINUTES = 70
TEST_MINUTES = 180


def rule_groups(product: Product, slos: list[SLO], windows: tuple[Window, ...]) -> dict[str, Any]:
    """The product's rule file: a recording group, then an alerting group."""
    return {
        "groups": [
            {
                "name": f"{product.name}-slo-ratios",
                "interval": f"{EVALUATION_SECONDS}s",
                "rules": _recording_rules(product, slos, windows),
            },
            {
                "name": f"{product.name}-slo-alerts",
                "interval": f"{EVALUATION_SECONDS}s",
                "rules": [_alert(product, slo, window) for slo in slos for window in windows],
            },
        ]
    }


def _labels(product: Product, slo: SLO) -> dict[str, str]:
    return {"product": product.name, "slo": slo.name, "indicator": slo.indicator}


def _recording_rules(
    product: Product, slos: list[SLO], windows: tuple[Window, ...]
) -> list[dict[str, Any]]:
    rules = []
    for slo in slos:
        unmet = unmet_expression(product, slo)
        if unmet is not None:
            rules.append({"record": UNMET, "expr": unmet, "labels": _labels(product, slo)})
        for minutes in window_minutes(windows):
            rules.append(
                {
                    "record": ERROR_RATIO.format(window=f"{minutes}m"),
                    "expr": error_ratio_expression(product, slo, minutes),
                    "labels": _labels(product, slo),
                }
            )
    return rules


def _alert(product: Product, slo: SLO, window: Window) -> dict[str, Any]:
    budget = 1 - slo.target
    over = f"{window.rate:g} * {budget:.6g}"
    long, short = (
        f'{ERROR_RATIO.format(window=f"{m}m")}{{product="{product.name}",slo="{slo.name}"}}'
        for m in (window.long_minutes, window.short_minutes)
    )
    return {
        "alert": ALERT_NAMES[window.name],
        "expr": f"{long} > ({over}) and {short} > ({over})",
        "for": f"{window.for_minutes}m",
        # The SLO's labels again, so that promtool's lint tells one product's rules apart.
        "labels": _alert_labels(product, slo, window),
        "annotations": _annotations(product, slo, window),
    }


def _alert_labels(product: Product, slo: SLO, window: Window) -> dict[str, str]:
    return _labels(product, slo) | {"severity": window.severity, "team": product.owner}


def _annotations(product: Product, slo: SLO, window: Window) -> dict[str, str]:
    return {
        "summary": f"{product.name}: SLO {slo.name} burns its error budget {window.rate:g}x "
        f"too fast",
        "description": f"{slo.description} Over the last {window.long_minutes} and "
        f"{window.short_minutes} minutes its error ratio exceeds {window.rate:g} x the budget "
        f"of {1 - slo.target:.6g}.",
        "runbook_url": RUNBOOK.format(anchor=ALERT_NAMES[window.name].lower()),
    }


def rule_tests(
    product: Product, slos: list[SLO], windows: tuple[Window, ...], rule_file: str
) -> dict[str, Any]:
    """`promtool test rules` cases: every SLO missed for BAD_MINUTES then met; each alert
    fires within the bad hour and is gone once the short windows hold only good minutes. One
    case for all: the SLOs of a kind read the same series, so one stale runner misses them all."""
    firing_at = BAD_MINUTES - 5
    resolved_at = BAD_MINUTES + max(w.short_minutes for w in windows) + 20
    checks = []
    for window in windows:
        alerts = [
            {
                "exp_labels": _alert_labels(product, slo, window),
                "exp_annotations": _annotations(product, slo, window),
            }
            for slo in slos
        ]
        name = ALERT_NAMES[window.name]
        checks.append({"eval_time": f"{firing_at}m", "alertname": name, "exp_alerts": alerts})
        checks.append({"eval_time": f"{resolved_at}m", "alertname": name, "exp_alerts": []})
    return {
        "rule_files": [rule_file],
        "evaluation_interval": f"{EVALUATION_SECONDS}s",
        "tests": [
            {
                "interval": "1m",
                "input_series": _bad_then_good(product, slos),
                "alert_rule_test": checks,
            }
        ],
    }


def _bad_then_good(product: Product, slos: list[SLO]) -> list[dict[str, str]]:
    """Series (one sample a minute) that miss every SLO until BAD_MINUTES, then meet them: a
    runner caught up long ago then every minute, requests all slower than every latency
    threshold and all 5xx, then all fast and fine."""
    bad, good = BAD_MINUTES - 1, TEST_MINUTES - BAD_MINUTES
    route = f'route="{product.prefix}/example",method="GET",service="gateway"'
    model = f'product="{product.name}",model="example.gold.table",layer="gold"'
    stale = -2 * max(
        (int(s.threshold) for s in slos if s.indicator == "freshness_seconds"), default=0
    )
    buckets = sorted({latency_bucket(s) for s in slos if s.indicator == "latency_ms"}, key=float)
    return [
        {
            "series": f"{CAUGHT_UP}{{{model}}}",
            "values": f"{stale}+0x{bad} {BAD_MINUTES * 60}+60x{good}",
        },
        {"series": f"{DURATION}_count{{{route}}}", "values": f"0+60x{TEST_MINUTES}"},
        *(
            {
                "series": f'{DURATION}_bucket{{{route},le="{le}"}}',
                "values": f"0+0x{bad} 0+60x{good}",
            }
            for le in buckets
        ),
        {
            "series": f'{REQUESTS}{{{route},status="500"}}',
            "values": f"0+60x{bad} {bad * 60}+0x{good}",
        },
        {"series": f'{REQUESTS}{{{route},status="200"}}', "values": f"0+0x{bad} 0+60x{good}"},
    ]
