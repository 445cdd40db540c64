"""Retention cohorts tick by tick: a tick recounts only the days its new events touch, a late
event that moves a user's first day moves them to the earlier cohort (and empties the later one
if they were all of it), and every cohort gains a cell when the last day with events advances.

D is 2026-11-20 (UTC). Ticks, one user each unless said:

    1   ana active D+1 and D+2 (cohort D+1); ben D and D+2 (cohort D); cy D+2 (cohort D+2)
    2   ana's event of D, sent late: ana joins cohort D, cohort D+1 has nobody left
    3   dee, first seen D+3: the last day with events advances
    4   ben again on D+2, a day he was already active: nothing to recount
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mobile_user_analytics.product import product

D = date(2026, 11, 20)
MODELS = ["silver.app_events", "silver.active_days", "gold.retention"]
TABLES = ["silver.active_days", "gold.retention"]

Cell = tuple[date, int]


def noon(day: date, minutes: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(minutes=minutes)


def day(n: int) -> date:
    return D + timedelta(days=n)


@dataclass
class Tick:
    """A tick's tables after it, what it wrote to each, and its run results."""

    tables: dict[str, list[dict[str, Any]]]
    changes: dict[str, list[dict[str, Any]]]
    results: dict[str, Any]


def tick(pipeline: Any, events: list[dict[str, Any]]) -> Tick:
    versions = {table: pipeline.lake.version(product.table_name(table)) for table in TABLES}
    pipeline.send(events)
    results = {r.model.split(".", 1)[1]: r for r in pipeline.runner.run(MODELS)}
    assert all(r.status in ("succeeded", "up_to_date") for r in results.values()), results
    return Tick(
        {table: pipeline.rows(table) for table in TABLES},
        {
            table: pipeline.lake.changes_since(product.table_name(table), version).to_pylist()
            for table, version in versions.items()
        },
        results,
    )


@pytest.fixture(scope="module")
def ticks(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> dict[Any, Any]:
    """The four ticks above, then the tables a full rebuild gives."""
    pipeline = new_pipeline()

    def of(user: str) -> Callable[..., Any]:
        return lambda event_id, at: app_event(
            event_id, at, user=user, install=f"{user}-install", device=f"{user}-phone"
        )

    ana, ben, cy, dee = of("ana"), of("ben"), of("cy"), of("dee")
    pipeline.send(
        [
            ana("ana-1", noon(day(1))),
            ana("ana-2", noon(day(2))),
            ben("ben-0", noon(day(0))),
            ben("ben-2", noon(day(2))),
            cy("cy-2", noon(day(2))),
        ]
    )
    pipeline.run(MODELS)
    found: dict[Any, Any] = {1: {table: pipeline.rows(table) for table in TABLES}}
    found[2] = tick(pipeline, [ana("ana-0", noon(day(0)))])
    found[3] = tick(pipeline, [dee("dee-3", noon(day(3)))])
    found[4] = tick(pipeline, [ben("ben-2b", noon(day(2), minutes=30))])
    pipeline.runner.run(MODELS, full_refresh=True)
    found["rebuilt"] = {table: pipeline.rows(table) for table in TABLES}
    return found


def cells(rows: list[dict[str, Any]]) -> dict[Cell, tuple[int, int]]:
    """(cohort_day, day_n) -> (cohort_users, retained_users)."""
    return {(r["cohort_day"], r["day_n"]): (r["cohort_users"], r["retained_users"]) for r in rows}


def changed_cells(changes: list[dict[str, Any]], *kinds: str) -> set[Cell]:
    return {(r["cohort_day"], r["day_n"]) for r in changes if r["_change_type"] in kinds}


def test_each_cohort_counts_its_users_back_exactly_on_day_n(ticks: dict[Any, Any]) -> None:
    assert cells(ticks[1]["gold.retention"]) == {
        (day(0), 0): (1, 1),  # ben
        (day(0), 1): (1, 0),
        (day(0), 2): (1, 1),
        (day(1), 0): (1, 1),  # ana
        (day(1), 1): (1, 1),
        (day(2), 0): (1, 1),  # cy
    }


def test_a_late_event_moves_its_user_to_the_earlier_cohort(ticks: dict[Any, Any]) -> None:
    after = ticks[2]

    assert cells(after.tables["gold.retention"]) == {
        (day(0), 0): (2, 2),  # ben and ana
        (day(0), 1): (2, 1),  # ana on D+1
        (day(0), 2): (2, 2),  # both on D+2
        (day(2), 0): (1, 1),  # cy, untouched
    }
    changes = after.changes["gold.retention"]
    assert changed_cells(changes, "update_postimage") == {(day(0), 0), (day(0), 1), (day(0), 2)}
    assert changed_cells(changes, "delete") == {(day(1), 0), (day(1), 1)}  # nobody left
    assert changed_cells(changes, "insert") == set()


def test_a_moved_user_has_every_active_day_rewritten_and_nobody_else(
    ticks: dict[Any, Any],
) -> None:
    changes = ticks[2].changes["silver.active_days"]

    assert {
        (r["user_id"], r["day"], r["cohort_day"])
        for r in changes
        if r["_change_type"] in ("insert", "update_postimage")
    } == {("ana", day(0), day(0)), ("ana", day(1), day(0)), ("ana", day(2), day(0))}
    assert {r["user_id"] for r in changes} == {"ana"}


def test_a_new_last_day_gives_every_cohort_a_cell(ticks: dict[Any, Any]) -> None:
    after = ticks[3]

    assert changed_cells(after.changes["gold.retention"], "insert") == {
        (day(0), 3),
        (day(2), 1),
        (day(3), 0),
    }
    assert {r["_change_type"] for r in after.changes["gold.retention"]} == {"insert"}
    assert cells(after.tables["gold.retention"])[(day(0), 3)] == (2, 0)
    assert cells(after.tables["gold.retention"])[(day(3), 0)] == (1, 1)


def test_an_event_on_a_day_already_counted_commits_nothing(ticks: dict[Any, Any]) -> None:
    after = ticks[4]

    assert after.changes == {"silver.active_days": [], "gold.retention": []}
    assert after.results["silver.active_days"].rows_out == 0
    assert after.results["gold.retention"].status == "up_to_date"


def test_the_ticks_end_where_a_full_rebuild_does(ticks: dict[Any, Any]) -> None:
    def rows(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
        return {t: sorted(tuple(sorted(r.items())) for r in rows) for t, rows in tables.items()}

    assert rows(ticks[4].tables) == rows(ticks["rebuilt"])


# --- any split into ticks -----------------------------------------------------------------------


def random_events(rng: random.Random, app_event: Callable[..., Any]) -> list[dict[str, Any]]:
    """Six people over five days, some before sign-in (their install is the user), identify
    calls (never activity), and about one event in five sent days after the rest."""
    events = []
    for person in range(6):
        for n in range(rng.randint(1, 6)):
            at = noon(day(rng.randrange(5)), minutes=rng.randrange(-700, 700))
            events.append(
                app_event(
                    f"p{person}-{n}",
                    at,
                    user=f"user{person}" if rng.random() < 0.7 else None,
                    install=f"install{person}",
                    device=f"phone{person}",
                    kind=rng.choice(["track", "track", "screen", "identify"]),
                )
            )
    return events


def expected_retention(events: list[dict[str, Any]]) -> dict[Cell, tuple[int, int]]:
    """Retention counted from its definition, straight from the events."""
    active = {
        (event["user_id"] or event["anonymous_id"], event["timestamp"].date())
        for event in events
        if event["type"] in ("track", "screen")
    }
    first: dict[str, date] = {}
    for user, active_day in active:
        first[user] = min(first.get(user, active_day), active_day)
    cohorts: dict[date, set[str]] = defaultdict(set)
    for user, cohort in first.items():
        cohorts[cohort].add(user)
    last = max(active_day for _, active_day in active)
    return {
        (cohort, n): (
            len(users),
            sum((user, cohort + timedelta(days=n)) in active for user in users),
        )
        for cohort, users in cohorts.items()
        for n in range((last - cohort).days + 1)
    }


@pytest.mark.parametrize("seed", range(8))
def test_any_split_into_ticks_counts_what_the_definition_does(
    seed: int, new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> None:
    rng = random.Random(seed)
    events = random_events(rng, app_event)
    late = {event["event_id"] for event in rng.sample(events, len(events) // 5)}
    order = [e for e in events if e["event_id"] not in late] + [
        e for e in events if e["event_id"] in late
    ]
    pipeline = new_pipeline()
    cuts = sorted(rng.sample(range(1, len(order)), 3))
    for start, end in zip([0, *cuts], [*cuts, len(order)], strict=True):
        pipeline.send(order[start:end])
        pipeline.run(MODELS)
    ticked = {table: pipeline.rows(table) for table in TABLES}
    pipeline.runner.run(MODELS, full_refresh=True)

    assert cells(ticked["gold.retention"]) == expected_retention(events)
    for table in TABLES:
        assert sorted(map(str, ticked[table])) == sorted(map(str, pipeline.rows(table)))
