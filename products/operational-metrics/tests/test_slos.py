"""SLOs over hand-made API traffic: a burn-rate alert that fires and resolves, and compliance and
error budget over 1 h, 24 h and 30 d. Every expected figure is worked out in the comments.

`shop` (service `gateway`, scraped at :30 of every minute from 10:00 to 11:39 on 2026-11-26):
100 requests a minute from 10:01 (10:00:30 is the first scrape: a baseline); every one of them
fails (500) from 11:00 to 11:09, and all succeed again from 11:10. SLO availability, target 0.99:
the error budget is 1% of requests, so burn rate = share failed / 0.01. Alerts as configured:
fast over 14.4 on both the 60 and 5 minute windows, slow over 6 on both 360 and 30 minutes.

`pay` (service `gateway-b`, a baseline 30 s before each count): 1000 requests, 500 failed, on
10-20 (outside 30 days); 300, 3 failed, on 11-10; 500 on 11-26 at 08:00; 200, 1 failed, at 11:20.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

SHOP = ("shop", "availability")
MODELS = (
    "silver.metric_samples",
    "silver.counter_increases",
    "gold.api_traffic",
    "silver.table_observations",
    "gold.product_freshness",
    "gold.slo_minutes",
    "gold.incidents",
    "gold.slo_status",
)


def shop_minutes(hand: Any, gateway: Any, minutes: range) -> list[dict[str, Any]]:
    gateway.answer("/health")  # so that the first scrape, the baseline, has a series
    scrapes = []
    for n in minutes:
        if n > 0:
            failing = 60 <= n < 70
            gateway.answer("/shop/orders", 500 if failing else 200, times=100)
        scrapes += gateway.scrape(hand.minute(n, 30))
    return scrapes


def pay_traffic(
    hand: Any, gateway: Any, at: datetime, ok: int, failed: int
) -> list[dict[str, Any]]:
    gateway.answer("/health")  # so that the baseline scrape has a series
    scrapes = gateway.scrape(at - timedelta(seconds=30))
    gateway.answer("/pay/charges", times=ok)
    gateway.answer("/pay/charges", 500, times=failed)
    return scrapes + gateway.scrape(at)


@pytest.fixture(scope="module")
def evaluated(metrics_watching: Callable[..., Any], hand: Any) -> Any:
    """The series in two runs: to 11:10 (both alerts firing), then to 11:39. Returns the
    incidents as they were after the first run, and the metrics after the second."""
    availability = hand.slo("availability", "availability", 1, 0.99)
    metrics = metrics_watching(hand.shop(availability), hand.product("pay", "/pay", availability))
    shop, pay = hand.counters(), hand.counters(service="gateway-b")
    day = hand.minute(0)
    first = shop_minutes(hand, shop, range(0, 71))
    for at, ok, failed in (
        (day - timedelta(days=37, hours=-2), 500, 500),  # 10-20 12:00
        (day - timedelta(days=16, hours=-2), 297, 3),  # 11-10 12:00
        (day - timedelta(hours=2), 500, 0),  # 11-26 08:00
    ):
        first += pay_traffic(hand, pay, at, ok, failed)
    metrics.publish(scrapes=first)
    metrics.run(*MODELS)
    after_first_run = metrics.rows("gold.incidents")
    second = shop_minutes(hand, shop, range(71, 100))
    second += pay_traffic(hand, pay, hand.minute(80, 10), 199, 1)
    metrics.publish(scrapes=second)
    metrics.run(*MODELS)
    return after_first_run, metrics


def burn_rates(metrics: Any, hand: Any, n: int) -> tuple[float, ...]:
    row = metrics.row("gold.slo_minutes", minute=hand.minute(n), product="shop")
    return tuple(
        round(row[f"{alert}_burn"], 4)
        for alert in ("fast_long", "fast_short", "slow_long", "slow_short")
    )


def test_burn_rates_over_each_window(evaluated: Any, hand: Any) -> None:
    _, metrics = evaluated

    # 11:00 (minute 60), the first failing minute: fast long window 10:01..11:00 holds 6000
    # requests, 100 failed: 1/60 / 0.01 = 1.6667; short 10:56..11:00: 100 of 500: 20. Slow long
    # 10:00..11:00 (nothing earlier): 100 of 6000: 1.6667; short 10:31..11:00: 100 of 3000: 3.3333.
    assert burn_rates(metrics, hand, 60) == (1.6667, 20.0, 1.6667, 3.3333)
    # 11:08: 900 of 6000 failed in the hour: 15; the last 5 minutes all failed: 100. Slow: 900
    # of 6800 since 10:01: 13.2353; 900 of 3000 over 30 minutes: 30.
    assert burn_rates(metrics, hand, 68) == (15.0, 100.0, 13.2353, 30.0)
    # 11:14: the failures (11:00..11:09) are out of the 5-minute window 11:10..11:14.
    assert burn_rates(metrics, hand, 74)[1] == 0.0


def test_a_fast_burn_opens_an_incident_that_resolves_when_the_errors_stop(
    evaluated: Any, hand: Any
) -> None:
    after_first_run, metrics = evaluated
    fast = metrics.row("gold.incidents", product="shop", severity="fast")

    # Open after the first run (which ended at 11:10, short window still over 14.4).
    opened = sorted(
        (i["opened_at"], i["severity"], i["state"])
        for i in after_first_run
        if i["product"] == "shop"
    )
    assert opened == [
        (hand.minute(63), "slow", "open"),
        (hand.minute(68), "fast", "open"),
    ]
    # 11:07: 800 of 6000 = 13.33, under 14.4; 11:08: 15 and 100, both over: it opens.
    # It stays open while the 5-minute window burns at 14.4 or more: 11:13 holds 11:09's
    # failures (100 of 500: 20); 11:14 holds none: resolved.
    assert fast == {
        "incident_id": "shop/availability/fast/2026-11-26T11:08Z",
        "product": "shop",
        "slo": "availability",
        "severity": "fast",
        "state": "resolved",
        "opened_at": hand.minute(68),
        "resolved_at": hand.minute(74),
        "burn_rate": 14.4,
        "long_burn_at_open": pytest.approx(15.0),
        "short_burn_at_open": pytest.approx(100.0),
        "peak_long_burn": pytest.approx(1000 / 6000 / 0.01),  # 11:09 on: all 1000 failures
        "peak_short_burn": pytest.approx(100.0),
        "short_burn_at_resolve": 0.0,
        "last_evaluated_at": hand.minute(74),
    }


def test_a_slow_burn_opens_earlier_and_resolves_later(evaluated: Any, hand: Any) -> None:
    _, metrics = evaluated
    slow = metrics.row("gold.incidents", product="shop", severity="slow")

    # 11:03: 400 of 6300 requests since 10:01 failed: 6.35 > 6; 400 of 3000 in 30 minutes:
    # 13.3 > 6. (11:02: 300 of 6200 = 4.84, not yet.)
    assert (slow["opened_at"], slow["long_burn_at_open"], slow["short_burn_at_open"]) == (
        hand.minute(63),
        pytest.approx(400 / 6300 / 0.01),
        pytest.approx(400 / 3000 / 0.01),
    )
    # The 30-minute window holds two failing minutes until 11:38 (11:09..11:38 holds only 11:09:
    # 100 of 3000 = 3.33 < 6): resolved then.
    assert (slow["state"], slow["resolved_at"], slow["short_burn_at_resolve"]) == (
        "resolved",
        hand.minute(98),
        pytest.approx(100 / 3000 / 0.01),
    )


def test_compliance_and_error_budget_over_1h_24h_and_30d(evaluated: Any, hand: Any) -> None:
    _, metrics = evaluated
    pay = metrics.row("gold.slo_status", product="pay")
    shop = metrics.row("gold.slo_status", product="shop")

    # Windows end with the latest step, 11:39. pay: the hour holds 11:20 (199 of 200); the day
    # adds 08:00 (500 of 500); 30 days add 11-10 (297 of 300); 10-20 is too old.
    assert pay["evaluated_at"] == hand.minute(99)
    assert (pay["good_1h"], pay["total_1h"], pay["compliance_1h"]) == (199, 200, 0.995)
    assert (pay["good_24h"], pay["total_24h"]) == (699, 700)
    assert (pay["good_30d"], pay["total_30d"], pay["compliance_30d"]) == (996, 1000, 0.996)
    # 4 failed of 1000 spends 0.4% of the 1% budget: 1 - 0.004 / 0.01 = 0.6 left.
    assert pay["error_budget_left"] == pytest.approx(0.6)
    # shop: 10:40..11:39 holds the 1000 failures of 6000; 10:01..11:39 9900 requests. The
    # budget of 99 requests is overspent ten times over: 1 - (1000 / 9900) / 0.01.
    assert (shop["good_1h"], shop["total_1h"]) == (5000, 6000)
    assert (shop["good_30d"], shop["total_30d"]) == (8900, 9900)
    assert shop["error_budget_left"] == pytest.approx(1 - 1000 / 9900 / 0.01)
    assert (shop["fast_firing"], shop["slow_firing"]) == (False, False)


def test_batch_by_batch_runs_evaluate_as_one_run_does(
    evaluated: Any, metrics_watching: Callable[..., Any], hand: Any
) -> None:
    """The models read only what is new (with look-backs for windows): the shop's series in
    runs of 10 minutes, each with a half-filled last minute, ends as the one above."""
    _, whole = evaluated
    availability = hand.slo("availability", "availability", 1, 0.99)
    metrics = metrics_watching(hand.shop(availability))
    gateway = hand.counters()
    gateway.answer("/health")
    scrapes = gateway.scrape(hand.minute(0, 30))
    for n in range(1, 100):
        gateway.answer("/shop/orders", 500 if 60 <= n < 70 else 200, times=50)
        scrapes += gateway.scrape(hand.minute(n, 10))  # half of the minute's requests
        gateway.answer("/shop/orders", 500 if 60 <= n < 70 else 200, times=50)
        if n % 10 == 0:
            metrics.publish(scrapes=scrapes)
            metrics.run(*MODELS)
            scrapes = []
        scrapes += gateway.scrape(hand.minute(n, 30))
    metrics.publish(scrapes=scrapes)
    metrics.run(*MODELS)

    def evaluations(of: Any) -> list[tuple[Any, ...]]:
        # Leaving out the minutes only pay's earlier days measured in.
        rows = [
            r for r in of.rows("gold.slo_minutes", product="shop") if r["minute"] >= hand.minute(0)
        ]
        return sorted(
            tuple(round(v, 9) if isinstance(v, float) else v for v in row.values()) for row in rows
        )

    assert evaluations(metrics) == evaluations(whole)

    # Opened and resolved at the same steps. (Peaks may differ: a run that ends mid-minute sees
    # the half-filled minute, which can burn more than the whole minute does.)
    def timeline(of: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (i["incident_id"], i["state"], i["opened_at"], i["resolved_at"])
            for i in of.rows("gold.incidents", product="shop")
        )

    assert timeline(metrics) == timeline(whole)
