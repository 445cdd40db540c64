"""Requests, errors and latency per product and minute, from hand-made scrapes of the gateway's
cumulative counters; every expected figure is counted by hand in the comments."""

from collections.abc import Callable
from typing import Any

import pytest

TRAFFIC = ("silver.metric_samples", "silver.counter_increases", "gold.api_traffic")


def traffic(metrics: Any, at: Any, product: str = "shop") -> dict[str, Any]:
    row = metrics.row("gold.api_traffic", minute=at, product=product)
    return {k: row[k] for k in ("requests", "server_errors", "client_errors")}


def test_counters_across_a_gateway_restart_give_exact_requests_and_errors(
    metrics_watching: Callable[..., Any], hand: Any
) -> None:
    gateway = hand.counters()
    scrapes = []
    # Before the first scrape: 5 answers, from before the platform watched (not counted).
    gateway.answer("/shop/orders", times=5)
    scrapes += gateway.scrape(hand.minute(0, 10))  # the baseline
    gateway.answer("/shop/orders", times=10)
    gateway.answer("/shop/orders", 500, times=2)  # a new series: its 2 count
    gateway.answer("/shop/orders/{order_id}", 404)
    gateway.answer("/auth/token", times=3)  # no product's prefix: the platform's
    scrapes += gateway.scrape(hand.minute(0, 40))
    gateway.answer("/shop/orders", times=4)
    scrapes += gateway.scrape(hand.minute(1, 10))
    gateway.restart()  # counters start again from 0; the 500 series is gone
    gateway.answer("/shop/orders", times=3)  # 19 before, 3 now: lower, so all 3 are new
    gateway.answer("/shop/orders", 503)
    scrapes += gateway.scrape(hand.minute(1, 40))
    gateway.answer("/shop/orders", times=7)
    # The 500 series is back at 3, above the 2 it held before the restart: it was missing from
    # the previous scrape, so all 3 are new (not 3 - 2).
    gateway.answer("/shop/orders", 500, times=3)
    scrapes += gateway.scrape(hand.minute(2, 10))
    metrics = metrics_watching(hand.shop())
    metrics.publish(scrapes=scrapes)
    metrics.run(*TRAFFIC)

    # 10:00: 10 + 2 (500) + 1 (404) at 10:00:40.
    assert traffic(metrics, hand.minute(0)) == {
        "requests": 13,
        "server_errors": 2,
        "client_errors": 1,
    }
    # 10:01: 4 at 10:01:10; after the restart 3 + 1 (503) at 10:01:40.
    assert traffic(metrics, hand.minute(1)) == {
        "requests": 8,
        "server_errors": 1,
        "client_errors": 0,
    }
    # 10:02: 7 (200: 3 -> 10) + 3 (500, back) ; the 503 stayed at 1.
    assert traffic(metrics, hand.minute(2)) == {
        "requests": 10,
        "server_errors": 3,
        "client_errors": 0,
    }
    assert traffic(metrics, hand.minute(0), "platform")["requests"] == 3


def test_the_first_scrape_after_a_gap_only_sets_a_baseline(
    metrics_watching: Callable[..., Any], hand: Any
) -> None:
    gateway = hand.counters()
    gateway.answer("/shop/orders", times=2)
    scrapes = gateway.scrape(hand.minute(0, 10))
    gateway.answer("/shop/orders", times=4)
    scrapes += gateway.scrape(hand.minute(0, 40))
    gateway.answer("/shop/orders", times=15)  # while the platform did not scrape for 20 minutes
    scrapes += gateway.scrape(hand.minute(20, 10))
    gateway.answer("/shop/orders", times=2)
    scrapes += gateway.scrape(hand.minute(20, 40))
    metrics = metrics_watching(hand.shop())
    metrics.publish(scrapes=scrapes)
    metrics.run(*TRAFFIC)

    counted = {row["minute"]: row["requests"] for row in metrics.rows("gold.api_traffic")}
    assert counted == {hand.minute(0): 4, hand.minute(20): 2}


def test_scrapes_arriving_run_by_run_recount_their_minute_whole(
    metrics_watching: Callable[..., Any], hand: Any
) -> None:
    gateway = hand.counters()
    gateway.answer("/shop/orders")
    metrics = metrics_watching(hand.shop())
    metrics.publish(scrapes=gateway.scrape(hand.minute(0, 0)))
    metrics.run(*TRAFFIC)
    for second, answered in ((10, 3), (20, 4), (30, 5)):
        gateway.answer("/shop/orders", times=answered)
        gateway.answer("/shop/orders", 500)
        metrics.publish(scrapes=gateway.scrape(hand.minute(0, second)))
        metrics.run(*TRAFFIC)

    # 3 + 4 + 5 answered, and 3 errors, in three runs: one row for the minute holds them all.
    assert traffic(metrics, hand.minute(0)) == {
        "requests": 15,
        "server_errors": 3,
        "client_errors": 0,
    }


@pytest.fixture(scope="module")
def latencies(metrics_watching: Callable[..., Any], hand: Any) -> Any:
    """Minute 10:00: 12 requests: 6 took 4 ms, 3 took 150 ms, 2 took 300 ms, 1 took 1.2 s;
    three latency SLOs judge them."""
    gateway = hand.counters()
    gateway.answer("/health")
    scrapes = gateway.scrape(hand.minute(0, 5))
    gateway.answer("/shop/orders", took=0.004, times=6)
    gateway.answer("/shop/orders", took=0.15, times=3)
    gateway.answer("/shop/orders", took=0.3, times=2)
    gateway.answer("/shop/orders/{order_id}", took=1.2)
    scrapes += gateway.scrape(hand.minute(0, 35))
    metrics = metrics_watching(
        hand.shop(
            hand.slo("within_200ms", "latency_ms", 200, 0.9),
            hand.slo("within_150ms", "latency_ms", 150, 0.9),
            hand.slo("within_half_ms", "latency_ms", 0.5, 0.9),
        )
    )
    metrics.publish(scrapes=scrapes)
    metrics.run(*TRAFFIC, "silver.table_observations", "gold.product_freshness", "gold.slo_minutes")
    return metrics


@pytest.mark.parametrize(
    ("slo", "good", "bucket_ms"),
    [
        # 200 ms is a bucket: 6 + 3 requests within it.
        ("within_200ms", 9, 200.0),
        # 150 ms is not: the nearest bucket below, 100 ms, holds the 6 of 4 ms.
        ("within_150ms", 6, 100.0),
        # Below the smallest bucket (1 ms): no request can be shown within it.
        ("within_half_ms", 0, None),
    ],
)
def test_latency_share_within_threshold_comes_from_the_bucket_at_or_below_it(
    latencies: Any, hand: Any, slo: str, good: int, bucket_ms: float | None
) -> None:
    row = latencies.row("gold.slo_minutes", minute=hand.minute(0), slo=slo)

    assert (row["good"], row["total"], row["latency_bucket_ms"]) == (good, 12, bucket_ms)


def test_latency_histogram_and_mean_per_minute(latencies: Any, hand: Any) -> None:
    row = latencies.row("gold.api_traffic", minute=hand.minute(0), product="shop")

    assert row["latency_count"] == 12
    # 6 x 0.004 + 3 x 0.15 + 2 x 0.3 + 1.2 = 2.274 s
    assert row["latency_sum_seconds"] == pytest.approx(2.274)
    # Cumulative: 6 within 5 ms (and every bucket up to 100 ms), 9 within 200 ms, 11 within
    # 500 ms and 1 s, 12 from 2.5 s on; the 1 ms and 2.5 ms buckets held none and are left out.
    assert [(b["le"], b["requests"]) for b in row["latency_buckets"]] == [
        (0.005, 6),
        (0.01, 6),
        (0.02, 6),
        (0.05, 6),
        (0.1, 6),
        (0.2, 9),
        (0.5, 11),
        (1.0, 11),
        (2.5, 12),
        (5.0, 12),
        (10.0, 12),
    ]
