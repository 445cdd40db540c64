"""The bus lag per product and minute, from hand-made measurements of the bus (platform.gold.bus_lag).

`shop` accepts two streams, `shop.bronze.app` and `shop.bronze.web`, on Redis; each measurement
round stamps both with one time. In two runs:

    10:00:10  app 4 events (oldest 30 s)   web 1 (5 s)       -> 5 events, 30 s
    10:00:40  app 2 (10 s)                 web 0 (0 s)       -> 2 events, 10 s: 10:00's last
    --- second run ---
    10:00:55  app 3 (20 s)                 web 6 (45 s)      -> 9 events, 45 s: 10:00's last now
    10:01:20  app uncounted (80 s)         web 0 (0 s)       -> unknown events, 80 s
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

MODELS = ("silver.bus_lag", "gold.bus_lag")
APP, WEB = "shop.bronze.app", "shop.bronze.web"


@dataclass(frozen=True)
class Runs:
    """The models over the case, and `gold.bus_lag` (events, oldest age) after the first run."""

    metrics: Any
    first_run: list[tuple[int | None, float | None]]


@pytest.fixture(scope="module")
def runs(metrics_watching: Callable[..., Any], hand: Any) -> Runs:
    at, bus = hand.minute, hand.bus_measure
    metrics = metrics_watching(hand.shop())
    metrics.publish(
        bus=[
            bus(at(0, 10), APP, 4, 30.0),
            bus(at(0, 10), WEB, 1, 5.0),
            bus(at(0, 40), APP, 2, 10.0),
            bus(at(0, 40), WEB, 0, 0.0),
        ]
    )
    metrics.run(*MODELS)
    first_run = [
        (row["waiting_events"], row["oldest_waiting_seconds"])
        for row in metrics.rows("gold.bus_lag")
    ]
    metrics.publish(
        bus=[
            bus(at(0, 55), APP, 3, 20.0),
            bus(at(0, 55), WEB, 6, 45.0),
            bus(at(1, 20), APP, None, 80.0),
            bus(at(1, 20), WEB, 0, 0.0),
        ]
    )
    metrics.run(*MODELS)
    return Runs(metrics, first_run)


def test_a_minute_is_its_last_rounds_sum_of_events_and_oldest_age(runs: Runs) -> None:
    # The first run saw only 10:00:10 and 10:00:40.
    assert runs.first_run == [(2, 10.0)]


def test_a_later_round_in_the_same_minute_recomputes_it(runs: Runs, hand: Any) -> None:
    row = runs.metrics.row("gold.bus_lag", minute=hand.minute(0))

    assert row == {
        "minute": hand.minute(0),
        "product": "shop",
        "bus": "redis",
        "measured_at": hand.minute(0, 55),
        "streams": 2,
        "waiting_events": 9,
        "oldest_waiting_seconds": 45.0,
    }


def test_a_stream_too_long_to_count_leaves_the_products_events_unknown(
    runs: Runs, hand: Any
) -> None:
    row = runs.metrics.row("gold.bus_lag", minute=hand.minute(1))

    assert (row["waiting_events"], row["oldest_waiting_seconds"]) == (None, 80.0)
    assert len(runs.metrics.rows("gold.bus_lag")) == 2
