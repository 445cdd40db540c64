"""Freshness and volumes per table and product, from hand-made table statistics.

`shop` has a bronze, a silver, a gold and a quarantine table. The platform observes them (time
observed, version, rows, bytes, commit time), in two runs:

    10:00:05  bronze v1 100 rows 1000 B (committed 10:00:03)   first sight: a baseline
              gold v1 10 rows (10:00:04)  quarantine v0 empty (10:00:02)
    10:00:35  bronze v2 130 rows 1300 B (10:00:30)   quarantine v1 2 rows 50 B (10:00:30)
    --- second run ---
    10:01:05  bronze v3 160 rows 1600 B (10:01:00)
    10:01:35  bronze v4 150 rows 1500 B (10:01:30, retention deleted some)
              silver v1 120 rows (10:01:32)

The platform measures (scrapes the gateway) at 10:00:10 and 10:00:50, then 10:01:50 and
10:02:50. SLO gold_fresh: gold at most 60 s old, target 0.5. `pay` declares gold tables and
the same SLO, but none was ever committed.
"""

from collections.abc import Callable
from typing import Any

import pytest

MODELS = (
    "silver.metric_samples",
    "silver.counter_increases",
    "gold.api_traffic",
    "silver.table_observations",
    "gold.table_volumes",
    "gold.table_freshness",
    "gold.product_freshness",
    "gold.slo_minutes",
)
BRONZE, SILVER, GOLD, QUARANTINE = (
    f"shop.{layer}.events" for layer in ("bronze", "silver", "gold", "quarantine")
)


@pytest.fixture(scope="module")
def metrics(metrics_watching: Callable[..., Any], hand: Any) -> Any:
    at, seen = hand.minute, hand.observation
    fresh = hand.slo("gold_fresh", "freshness_seconds", 60, 0.5)
    metrics = metrics_watching(hand.shop(fresh), hand.product("pay", "/pay", fresh))
    gateway = hand.counters()
    gateway.answer("/health")
    metrics.publish(
        scrapes=gateway.scrape(at(0, 10)) + gateway.scrape(at(0, 50)),
        observations=[
            seen(at(0, 5), BRONZE, 1, 100, 1000, at(0, 3)),
            seen(at(0, 5), GOLD, 1, 10, 80, at(0, 4)),
            seen(at(0, 5), QUARANTINE, 0, 0, 0, at(0, 2)),
            seen(at(0, 35), BRONZE, 2, 130, 1300, at(0, 30)),
            seen(at(0, 35), QUARANTINE, 1, 2, 50, at(0, 30)),
        ],
    )
    metrics.run(*MODELS)
    metrics.publish(
        scrapes=gateway.scrape(at(1, 50)) + gateway.scrape(at(2, 50)),
        observations=[
            seen(at(1, 5), BRONZE, 3, 160, 1600, at(1, 0)),
            seen(at(1, 35), BRONZE, 4, 150, 1500, at(1, 30)),
            seen(at(1, 35), SILVER, 1, 120, 900, at(1, 32)),
        ],
    )
    metrics.run(*MODELS)
    return metrics


def volumes(metrics: Any, hand: Any, n: int) -> dict[str, tuple[int, int, int]]:
    return {
        row["table_name"]: (row["rows_added"], row["bytes_added"], row["row_count"])
        for row in metrics.rows("gold.table_volumes", minute=hand.minute(n))
    }


def test_rows_and_bytes_added_per_table_and_minute(metrics: Any, hand: Any) -> None:
    # 10:00: bronze's first sight is a baseline; v2 adds 30 rows and 300 B. The quarantine table
    # gains 2 rows. Gold was seen once: nothing added yet.
    assert volumes(metrics, hand, 0) == {
        BRONZE: (30, 300, 130),
        GOLD: (0, 0, 10),
        QUARANTINE: (2, 50, 2),
    }
    # 10:01 (the second run, which starts from 10:00's 130 rows): v3 adds 30, v4 shrinks (0).
    assert volumes(metrics, hand, 1) == {BRONZE: (30, 300, 150), SILVER: (0, 0, 120)}


def test_each_tables_freshness_as_of_the_latest_measurement(metrics: Any, hand: Any) -> None:
    freshness = {row["table_name"]: row for row in metrics.rows("gold.table_freshness")}

    # Measured last at 10:02:50. Bronze's newest commit, 10:01:30, is what the others trail.
    assert {
        table: (row["version"], row["age_seconds"], row["behind_bronze_seconds"])
        for table, row in freshness.items()
    } == {
        BRONZE: (4, 80.0, None),  # 10:01:30
        SILVER: (1, 78.0, 0.0),  # 10:01:32, after bronze's last commit
        GOLD: (1, 166.0, 86.0),  # 10:00:04
        QUARANTINE: (1, 140.0, None),  # 10:00:30
    }
    assert freshness[GOLD]["measured_at"] == hand.minute(2, 50)


def test_product_freshness_per_minute_and_the_freshness_slo(metrics: Any, hand: Any) -> None:
    rows = sorted(metrics.rows("gold.product_freshness", product="shop"), key=lambda r: r["minute"])
    slo = {
        r["minute"]: (r["good"], r["total"])
        for r in metrics.rows("gold.slo_minutes", product="shop")
    }

    # Each minute is judged at its last measurement: gold's newest commit stays 10:00:04, bronze's
    # moves on; lag = bronze's newest - gold's newest.
    assert [
        (r["minute"], r["measured_at"], r["gold_age_seconds"], r["bronze_to_gold_lag_seconds"])
        for r in rows
    ] == [
        (hand.minute(0), hand.minute(0, 50), 46.0, 26.0),  # bronze 10:00:30
        (hand.minute(1), hand.minute(1, 50), 106.0, 86.0),  # bronze 10:01:30
        (hand.minute(2), hand.minute(2, 50), 166.0, 86.0),
    ]
    # Good while gold is at most 60 s old: 10:00 only.
    assert slo == {hand.minute(0): (1, 1), hand.minute(1): (0, 1), hand.minute(2): (0, 1)}


def test_a_product_whose_gold_was_never_committed_is_stale(metrics: Any, hand: Any) -> None:
    freshness = metrics.rows("gold.product_freshness", product="pay")
    slo = metrics.rows("gold.slo_minutes", product="pay")

    assert {(r["newest_gold_at"], r["gold_age_seconds"]) for r in freshness} == {(None, None)}
    assert sorted((r["minute"], r["good"], r["total"]) for r in slo) == [
        (hand.minute(n), 0, 1) for n in range(3)
    ]
