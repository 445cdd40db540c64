"""Every mobile table, tick by tick: any split of a realistic set of events into ticks (late
events, retries, sessions crossing the timeout and midnight, a sign-in mid-session) ends in the
rows a full rebuild (`--full-refresh`) gives over the same events."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC)
TABLES = [
    "silver.app_events",
    "silver.sessions",
    "silver.active_days",
    "gold.activity_1m",
    "gold.activity_1h",
    "gold.activity_1d",
    "gold.active_users",
    "gold.events",
    "gold.user_days",
    "gold.user_summary",
    "gold.retention",
    "gold.app_versions",
    "gold.identity_links",
]
CASES = 6
# Track names of every role, one with none (`other_events`), and purchases in two currencies.
NAMES = ["app_open", "tap", "Screen Viewed", "add_to_cart", "crash", "Help Opened"]
PURCHASE = "Order Completed"


def random_events(rng: random.Random, app_event: Callable[..., Any]) -> list[dict[str, Any]]:
    """Three to five people over two days around midnight: gaps on both sides of the 30-minute
    timeout, events before and after sign-in, an SDK-named session, two devices, events from
    the app's server (no device), ties in time, purchases, screen calls, and a few events days
    before the rest (each sent late below)."""
    events = []
    for person in range(rng.randint(3, 5)):
        user, install = f"user{person}", f"install{person}"
        devices = [f"phone{person}", f"tablet{person}"][: rng.randint(1, 2)]
        sdk_session = f"sdk{person}" if rng.random() < 0.3 else None
        signs_in_after = rng.randint(0, 6)
        at = MIDNIGHT - timedelta(hours=rng.randint(1, 3), minutes=rng.randint(0, 59))
        for n in range(rng.randint(6, 14)):
            at += timedelta(minutes=rng.choice([0, 1, 5, 20, 29, 30, 31, 45, 90]))
            name = PURCHASE if rng.random() < 0.15 else rng.choice(NAMES)
            properties: dict[str, Any] = {}
            if name == PURCHASE:
                currency = rng.choice(["eur", "usd"])
                properties = {"revenue": rng.choice([0.1, 0.2, 9.99]), "currency": currency}
            if name == "Screen Viewed":
                properties = {"name": rng.choice(["home", "cart"])}
            ios = rng.random() < 0.7
            signed_in = n >= signs_in_after
            # The app's server sends a signed-in user's events with no install and no device.
            from_server = signed_in and rng.random() < 0.15
            events.append(
                app_event(
                    f"e{person}-{n}",
                    at,
                    name,
                    user=user if signed_in else None,
                    install=None if from_server else install,
                    device=None if from_server else rng.choice(devices),
                    os_name="iOS" if ios else "Android",
                    version=rng.choice(["3.2.0", "3.3.0"]),
                    session=sdk_session,
                    kind="screen" if rng.random() < 0.1 else "track",
                    properties=properties,
                )
            )
    for n, event in enumerate(rng.sample(events, 2)):  # an event days before the rest
        late = dict(event, event_id=f"late{n}", timestamp=event["timestamp"] - timedelta(days=3))
        late.update(original_timestamp=late["timestamp"], sent_at=late["timestamp"])
        late["received_at"] = late["timestamp"] + timedelta(seconds=1)
        events.append(late)
    return events


def random_ticks(rng: random.Random, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The events in random order, cut into 2 to 4 ticks, with retries of a few of them (the
    same event, received again later) in the same tick or a later one."""
    order = events[:]
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, len(order)), rng.randint(1, 3)))
    ticks = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    for event in rng.sample(order, 3):
        tick = next(i for i, t in enumerate(ticks) if event in t)
        retry = dict(event, received_at=event["received_at"] + timedelta(minutes=5))
        ticks[rng.randint(tick, len(ticks) - 1)].append(retry)
    return ticks


def snapshot(pipeline: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as sorted tuples (lists and maps made comparable)."""
    return {table: sorted(map(_comparable, pipeline.rows(table))) for table in TABLES}


def _comparable(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(repr(row[column]) for column in sorted(row))


@pytest.mark.parametrize("seed", range(CASES))
def test_any_split_into_ticks_ends_in_the_tables_a_full_rebuild_gives(
    seed: int, new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> None:
    rng = random.Random(seed)
    pipeline = new_pipeline()
    for tick in random_ticks(rng, random_events(rng, app_event)):
        pipeline.send(tick)
        pipeline.run()
    ticked = snapshot(pipeline)

    pipeline.runner.run(full_refresh=True)

    rebuilt = snapshot(pipeline)
    for table in TABLES:
        assert ticked[table] == rebuilt[table], f"seed {seed}: {table} differs"
    assert ticked["silver.sessions"], "the case holds sessions"
