"""Sessions, user summaries and app versions tick by tick: a tick rewrites only the sessions,
users and versions its new events touch, from stored sessions rather than old events, and
deletes the rows a late event makes disappear."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mobile_user_analytics.product import product

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TABLES = ["silver.sessions", "gold.user_summary", "gold.app_versions"]
MODELS = ["silver.app_events", *TABLES]


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


@dataclass
class Tick:
    """The tables after the first batch and after the second, and what the second changed."""

    before: dict[str, list[dict[str, Any]]]
    after: dict[str, list[dict[str, Any]]]
    changes: dict[str, list[dict[str, Any]]]  # each table's change feed of the second tick
    results: dict[str, Any]  # the second tick's run result per model


@pytest.fixture(scope="module")
def tick(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> Tick:
    """steady is left alone by the second batch; every other user gets one event in it."""
    pipeline = new_pipeline()

    def of(user: str, **fields: Any) -> Callable[..., Any]:
        return lambda event_id, at, *a, **kw: app_event(
            event_id, at, *a, user=user, install=f"{user}-install", device=f"{user}-phone",
            **fields, **kw,
        )  # fmt: skip

    steady, late, mover = of("steady", version="3.1.0"), of("late"), of("mover")
    buyer, sdk = of("buyer"), of("sdk", session="sdk-9")

    def backend(event_id: str, at: datetime) -> Any:  # a server's event: no install, no device
        return app_event(event_id, at, "Order Completed", user="backend", install=None, device=None)

    order = {"revenue": 0.1, "currency": "eur"}
    pipeline.send(
        [
            steady("steady-1", T0),
            steady("steady-2", T0 + minutes(5)),
            late("late-1", T0),
            late("late-3", T0 + minutes(40)),
            mover("mover-1", T0, version="2.9.0"),
            buyer("buyer-1", T0, "Order Completed", properties=order),
            buyer("buyer-3", T0 + minutes(60), "Order Completed", properties=order),
            sdk("sdk-1", T0),
            backend("backend-1", T0),
        ]
    )
    pipeline.run(MODELS)
    before = {table: pipeline.rows(table) for table in TABLES}
    versions = {table: pipeline.lake.version(product.table_name(table)) for table in TABLES}

    pipeline.send(
        [
            late("late-2", T0 + minutes(20)),  # bridges late's two sessions
            mover("mover-2", T0 + minutes(10), version="3.0.0"),  # the session's version moves
            buyer("buyer-2", T0 + minutes(65), "Order Completed", properties=order),
            sdk("sdk-0", T0 - timedelta(days=3)),  # sent three days late: starts the session
            backend("backend-2", T0 + minutes(10)),
        ]
    )  # fmt: skip
    results = {result.model.split(".", 1)[1]: result for result in pipeline.runner.run(MODELS)}
    assert {result.status for result in results.values()} == {"succeeded"}, results
    return Tick(
        before,
        {table: pipeline.rows(table) for table in TABLES},
        {
            table: pipeline.lake.changes_since(product.table_name(table), version).to_pylist()
            for table, version in versions.items()
        },
        results,
    )


def of_user(rows: list[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    return sorted((r for r in rows if r["user_id"] == user), key=lambda r: r["started_at"])


def changed(tick: Tick, table: str, column: str, kinds: tuple[str, ...]) -> set[Any]:
    return {row[column] for row in tick.changes[table] if row["_change_type"] in kinds}


def test_a_tick_rewrites_only_the_sessions_of_the_users_with_new_events(tick: Tick) -> None:
    touched = {"late", "mover", "buyer", "sdk", "backend"}

    every_kind = ("insert", "update_preimage", "update_postimage", "delete")
    assert changed(tick, "silver.sessions", "user_id", every_kind) == touched
    assert of_user(tick.after["silver.sessions"], "steady") == of_user(
        tick.before["silver.sessions"], "steady"
    )
    assert tick.results["silver.sessions"].rows_in == 5  # the five new events, nothing older


def test_a_late_event_joining_two_sessions_deletes_the_later_one(tick: Tick) -> None:
    first, absorbed = of_user(tick.before["silver.sessions"], "late")

    (joined,) = of_user(tick.after["silver.sessions"], "late")

    assert (joined["session_id"], joined["events"]) == (first["session_id"], 3)
    assert (joined["started_at"], joined["ended_at"]) == (T0, T0 + minutes(40))
    # sdk-9 is deleted too, from the day it no longer starts on (its own test).
    assert changed(tick, "silver.sessions", "session_id", ("delete",)) == {
        absorbed["session_id"],
        "sdk-9",
    }
    assert tick.results["silver.sessions"].rows_deleted == 2


def test_an_event_days_late_moves_its_sdk_session_start_back(tick: Tick) -> None:
    (session,) = of_user(tick.after["silver.sessions"], "sdk")

    assert (session["session_id"], session["events"]) == ("sdk-9", 2)
    assert (session["started_at"], session["ended_at"]) == (T0 - timedelta(days=3), T0)
    # Keyed by the day it starts: the row of its old day is deleted, one of the new inserted.
    (gone,) = [
        row
        for row in tick.changes["silver.sessions"]
        if row["_change_type"] == "delete" and row["session_id"] == "sdk-9"
    ]
    assert (gone["day"], session["day"]) == (T0.date(), (T0 - timedelta(days=3)).date())


def test_events_without_a_device_make_one_session_across_ticks(tick: Tick) -> None:
    (session,) = of_user(tick.after["silver.sessions"], "backend")

    assert (session["device_id"], session["events"], session["purchases"]) == (None, 2, 2)
    assert (session["started_at"], session["ended_at"]) == (T0, T0 + minutes(10))


def test_revenue_added_over_ticks_is_the_exact_sum(tick: Tick) -> None:
    sessions = of_user(tick.after["silver.sessions"], "buyer")
    (summary,) = of_user_summary(tick, "buyer")

    assert [s["revenue"] for s in sessions] == [
        [{"currency": "EUR", "amount": Decimal("0.1000")}],
        [{"currency": "EUR", "amount": Decimal("0.2000")}],  # 0.1 in each tick
    ]
    # The sessions' 0.1 + 0.2 in floating point would be 0.30000000000000004.
    assert summary["revenue"] == [{"currency": "EUR", "amount": 0.3}]
    assert (summary["sessions"], summary["purchases"]) == (2, 3)


def of_user_summary(tick: Tick, user: str) -> list[dict[str, Any]]:
    return [row for row in tick.after["gold.user_summary"] if row["user_id"] == user]


def test_the_user_summary_recounts_only_the_touched_users(tick: Tick) -> None:
    new_rows = ("insert", "update_postimage")

    assert changed(tick, "gold.user_summary", "user_id", new_rows) == {
        "late", "mover", "buyer", "sdk", "backend",
    }  # fmt: skip
    (late,) = of_user_summary(tick, "late")
    assert (late["sessions"], late["events"], late["last_seen"]) == (1, 3, T0 + minutes(40))


def test_app_versions_recount_the_versions_a_session_left_or_joined(tick: Tick) -> None:
    def versions(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
        return {(r["app_version"], r["platform"]): (r["users"], r["sessions"]) for r in rows}

    before = versions(tick.before["gold.app_versions"])
    after = versions(tick.after["gold.app_versions"])

    # mover's only session moved from 2.9.0 to 3.0.0 (its last event's version).
    assert before[("2.9.0", "ios")] == (1, 1) and ("3.0.0", "ios") not in before
    assert after[("3.0.0", "ios")] == after[("3.0.0", "*")] == (1, 1)
    assert ("2.9.0", "ios") not in after and ("2.9.0", "*") not in after
    # late's two sessions became one; buyer, sdk and backend kept theirs.
    assert before[("3.2.0", "ios")] == (4, 6) and after[("3.2.0", "ios")] == (4, 5)
    # steady's 3.1.0 was neither recounted nor rewritten.
    assert after[("3.1.0", "ios")] == before[("3.1.0", "ios")] == (1, 1)
    every_kind = ("insert", "update_preimage", "update_postimage", "delete")
    assert changed(tick, "gold.app_versions", "app_version", every_kind) == {
        "2.9.0", "3.0.0", "3.2.0",
    }  # fmt: skip


@pytest.fixture(scope="module")
def retained(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> Any:
    """late's sessions, whose events silver no longer holds when a late event joins them."""
    pipeline = new_pipeline()

    def late(event_id: str, at: datetime) -> Any:
        return app_event(event_id, at, user="late", install="late-install", device="late-phone")

    pipeline.send([late("late-1", T0), late("late-3", T0 + minutes(40))])
    pipeline.run(MODELS)
    # As retention would: the events are gone, their sessions stay.
    pipeline.lake.delete(product.table_name("silver.app_events"), "user_id = 'late'")
    pipeline.send([late("late-2", T0 + minutes(20))])
    pipeline.run(MODELS)
    return pipeline


def test_a_tick_joins_stored_sessions_without_rereading_their_events(retained: Any) -> None:
    (joined,) = retained.rows("silver.sessions", user_id="late")

    assert len(retained.rows("silver.app_events", user_id="late")) == 1
    assert (joined["started_at"], joined["ended_at"], joined["events"]) == (
        T0,
        T0 + minutes(40),
        3,
    )
