"""The SLO tables tick by tick: any split of the platform's telemetry into publications (sparse
traffic days more and less than 30 days back, a busy hour with failures and slow answers, a
gateway restart, gold commits now and then) ends in the SLO evaluations and status a full rebuild
(`--full-refresh`) gives over the same telemetry."""

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# The SLO chain, from the gateway's scrapes and the tables' statistics to the status.
TABLES = [
    "silver.metric_samples",
    "silver.counter_increases",
    "gold.api_traffic",
    "silver.table_observations",
    "gold.product_freshness",
    "gold.slo_minutes",
    "gold.slo_status",
]
CASES = 4
GOLD = "shop.gold.orders"


def telemetry(rng: random.Random, hand: Any) -> list[tuple[datetime, str, dict[str, Any]]]:
    """(when, platform table, row) of two gateways' scrapes and shop's gold table statistics:
    a few minutes of traffic on days 40, 25 and 2 before the busy hour, then the hour itself
    (failures and slow answers for a stretch, a restart), scraped at :10 and :30."""
    shop, pay = hand.counters(), hand.counters(service="gateway-b")
    day = hand.minute(0)
    arrivals = []
    version = 0
    failing = range(20, 20 + rng.randint(5, 15))  # minutes of the busy hour
    starts = [day - timedelta(days=back) for back in (40, 25, 2)] + [day]
    for start in starts:
        busy = start == day
        for gateway in (shop, pay):
            gateway.answer("/health")  # so that the first scrape, a baseline, has a series
        for n in range(60 if busy else rng.randint(3, 6)):
            if busy and n == 45:
                shop.restart()
            shop.answer(
                "/shop/orders",
                500 if busy and n in failing and rng.random() < 0.5 else 200,
                took=rng.choice([0.004, 0.15, 0.4]),
                times=rng.randint(1, 50),
            )
            pay.answer("/pay/charges", rng.choice([200, 200, 503]), times=rng.randint(0, 20))
            for second in (10, 30):
                at = hand.minute(n, second, day=start)
                arrivals += [(at, "scrapes", row) for row in shop.scrape(at) + pay.scrape(at)]
            if rng.random() < 0.4:  # a gold commit at :15, seen at :20
                version += 1
                committed, seen = (hand.minute(n, s, day=start) for s in (15, 20))
                row = hand.observation(seen, GOLD, version, 10 * version, 100 * version, committed)
                arrivals.append((seen, "observations", row))
    return sorted(arrivals, key=lambda arrival: arrival[0])


def publications(
    rng: random.Random, arrivals: list[tuple[datetime, str, dict[str, Any]]]
) -> list[dict[str, list[dict[str, Any]]]]:
    """The arrivals cut at 2 to 4 random moments, as the platform publishes each table as it
    goes (a scrape whole): a cut may fall between the two scrapes of a minute."""
    moments = sorted({at for at, _, _ in arrivals})
    cuts = sorted(rng.sample(moments[1:], rng.randint(2, 4)))
    batches = []
    for start, end in zip([moments[0], *cuts], [*cuts, None], strict=True):
        batch: dict[str, list[dict[str, Any]]] = {"scrapes": [], "observations": []}
        for at, table, row in arrivals:
            if at >= start and (end is None or at < end):
                batch[table].append(row)
        batches.append(batch)
    return batches


def snapshot(metrics: Any) -> dict[str, list[tuple[str, ...]]]:
    """Each table's rows as sorted tuples of their values' reprs."""
    return {
        table: sorted(
            tuple(repr(row[column]) for column in sorted(row)) for row in metrics.rows(table)
        )
        for table in TABLES
    }


@pytest.mark.parametrize("seed", range(CASES))
def test_any_split_into_publications_ends_in_the_slo_tables_a_full_rebuild_gives(
    seed: int, metrics_watching: Callable[..., Any], hand: Any
) -> None:
    rng = random.Random(seed)
    slos = [
        hand.slo("availability", "availability", 1, 0.99),
        hand.slo("fast", "latency_ms", 200, 0.9),
        hand.slo("errors", "error_rate", 0.01, 0.95),
        hand.slo("fresh", "freshness_seconds", 300, 0.9),
    ]
    metrics = metrics_watching(
        hand.shop(*slos), hand.product("pay", "/pay", hand.slo("up", "availability", 1, 0.999))
    )
    for batch in publications(rng, telemetry(rng, hand)):
        metrics.publish(**batch)
        metrics.run(*TABLES)
    ticked = snapshot(metrics)

    metrics.runner.run(TABLES, full_refresh=True)

    rebuilt = snapshot(metrics)
    for table in TABLES:
        assert ticked[table] == rebuilt[table], f"seed {seed}: {table} differs"
    status = {row["slo"]: row for row in metrics.rows("gold.slo_status")}
    assert status["availability"]["total_30d"] > status["availability"]["total_1h"] > 0
    assert status["up"]["total_30d"] > 0, "pay's traffic 25 and 2 days back is in the window"


def test_an_slo_taken_out_of_the_config_leaves_the_status_at_the_next_tick(
    metrics_watching: Callable[..., Any], hand: Any
) -> None:
    kept = hand.slo("availability", "availability", 1, 0.99)
    dropped = hand.slo("errors", "error_rate", 0.01, 0.95)
    metrics = metrics_watching(hand.shop(kept, dropped))
    gateway = hand.counters()
    gateway.answer("/health")
    metrics.publish(scrapes=gateway.scrape(hand.minute(0, 30)))
    gateway.answer("/shop/orders", times=10)
    metrics.publish(scrapes=gateway.scrape(hand.minute(1, 30)))
    metrics.run(*TABLES)
    assert sorted(row["slo"] for row in metrics.rows("gold.slo_status")) == [
        "availability",
        "errors",
    ]

    reloaded = metrics.watching(hand.shop(kept))
    gateway.answer("/shop/orders", 500, times=10)
    reloaded.publish(scrapes=gateway.scrape(hand.minute(2, 30)))
    reloaded.run(*TABLES)

    # 10:01 and 10:02: 20 requests, the last 10 failed.
    assert [
        (row["slo"], row["good_1h"], row["total_1h"]) for row in reloaded.rows("gold.slo_status")
    ] == [("availability", 10, 20)]


def test_a_tick_of_the_status_opens_only_the_days_of_its_window(
    metrics_watching: Callable[..., Any], hand: Any
) -> None:
    """shop's traffic: 50 failed requests 40 days back, 100 answered 2 days back, then 10 (5
    failed) in the tick; each day's first scrape only sets the baseline."""
    availability = hand.slo("availability", "availability", 1, 0.99)
    metrics = metrics_watching(hand.shop(availability))
    gateway = hand.counters()
    now = hand.minute(0)

    def traffic(day: datetime, ok: int, failed: int) -> list[dict[str, Any]]:
        gateway.answer("/health")
        scrapes = gateway.scrape(hand.minute(0, 30, day=day))
        gateway.answer("/shop/orders", times=ok)
        gateway.answer("/shop/orders", 500, times=failed)
        return scrapes + gateway.scrape(hand.minute(1, 30, day=day))

    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    metrics.publish(scrapes=traffic(old, 0, 50) + traffic(recent, 100, 0))
    metrics.run(*TABLES)
    metrics.publish(scrapes=traffic(now, 5, 5))
    metrics.run(*TABLES[:-1])
    minutes = metrics.lake.table("operational_metrics.gold.slo_minutes").file_uris()
    old_files = [uri for uri in minutes if f"day={old.date()}" in uri]
    assert old_files, "gold.slo_minutes keeps each day in its own files"
    for uri in old_files:  # reading one would fail the run
        Path(uri.removeprefix("file://")).write_bytes(b"not parquet")

    metrics.run("gold.slo_status")

    status = metrics.row("gold.slo_status", slo="availability")
    assert (status["evaluated_at"], status["good_30d"], status["total_30d"]) == (
        hand.minute(1),
        105,
        110,
    )
