"""Model runs per product and minute, and each model's status, from hand-made run records.

Run id, model, finish, status (duration ms; rows quarantined, checks failed):

    1  silver.events  10:00:20  succeeded (100; 2, 1)
    2  gold.daily     10:00:25  succeeded (300)
    3  silver.events  10:00:50  failed    (50; 5, 2) "checks failed"
    4  silver.events  10:01:10  failed    (70) "boom"
    5  gold.daily     10:01:15  succeeded (200)
    --- second run ---
    6  silver.events  10:01:40  succeeded (90)
    7  silver.events  10:02:00  failed    (60) "boom again"
"""

from collections.abc import Callable
from typing import Any

import pytest

MODELS = ("silver.model_runs", "gold.model_activity", "gold.model_status")
EVENTS, DAILY = "shop.silver.events", "shop.gold.daily"


@pytest.fixture(scope="module")
def metrics(metrics_watching: Callable[..., Any], hand: Any) -> Any:
    at, run = hand.minute, hand.model_run
    metrics = metrics_watching(hand.shop())
    metrics.publish(
        runs=[
            run(1, EVENTS, at(0, 20), took_ms=100, quarantined=2, checks_failed=1),
            run(2, DAILY, at(0, 25), took_ms=300),
            run(
                3,
                EVENTS,
                at(0, 50),
                "failed",
                took_ms=50,
                quarantined=5,
                checks_failed=2,
                error="checks failed",
            ),
            run(4, EVENTS, at(1, 10), "failed", took_ms=70, error="boom"),
            run(5, DAILY, at(1, 15), took_ms=200),
        ]
    )
    metrics.run(*MODELS)
    first = {row["model"]: row for row in metrics.rows("gold.model_status")}
    metrics.publish(
        runs=[
            run(6, EVENTS, at(1, 40), took_ms=90),
            run(7, EVENTS, at(2, 0), "failed", took_ms=60, error="boom again"),
        ]
    )
    metrics.run(*MODELS)
    return first, metrics


def test_runs_and_failures_per_minute(metrics: Any, hand: Any) -> None:
    _, metrics = metrics
    activity = {
        row["minute"]: (
            row["runs"],
            row["failures"],
            row["duration_ms_sum"],
            row["duration_ms_max"],
            row["rows_quarantined"],
            row["checks_failed"],
        )
        for row in metrics.rows("gold.model_activity", product="shop")
    }

    assert activity == {
        hand.minute(0): (3, 1, 450.0, 300.0, 7, 3),  # runs 1, 2, 3
        hand.minute(1): (3, 1, 360.0, 200.0, 0, 0),  # 4, 5, and 6 from the second run
        hand.minute(2): (1, 1, 60.0, 60.0, 0, 0),  # 7
    }


def test_each_models_latest_run_and_failures_in_a_row(metrics: Any, hand: Any) -> None:
    first, metrics = metrics
    status = {row["model"]: row for row in metrics.rows("gold.model_status")}

    def summary(row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            row["last_run_id"],
            row["last_status"],
            row["last_error"],
            row["last_success_at"],
            row["last_failure_at"],
            row["failures_in_a_row"],
            row["runs"],
            row["failures"],
        )

    # After the first run: events failed twice since its success at 10:00:20.
    assert summary(first[EVENTS]) == (
        4,
        "failed",
        "boom",
        hand.minute(0, 20),
        hand.minute(1, 10),
        2,
        3,
        2,
    )
    # Then run 6 succeeded and run 7 failed: one failure in a row, 3 of 5 runs failed.
    assert summary(status[EVENTS]) == (
        7,
        "failed",
        "boom again",
        hand.minute(1, 40),
        hand.minute(2, 0),
        1,
        5,
        3,
    )
    assert summary(status[DAILY]) == (5, "succeeded", None, hand.minute(1, 15), None, 0, 2, 0)
