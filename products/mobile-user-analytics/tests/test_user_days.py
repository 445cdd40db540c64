"""gold.user_days on hand-made cases, one user per case, all in one lake run twice.

D is 2026-11-20 (UTC).

    ana   iPhone, SDK session s-1 across midnight:
            D 23:50 app_open, 23:55 screen Home;
            D+1 00:05 screen Home, 00:06 screen Product, purchases 00:07 10 EUR, 00:08 5.5 EUR,
            00:09 2 usd, 00:10 1 (no currency)
          Pixel, SDK session s-2: D+1 10:00 app_open, 10:01 screen Home
    ben   iPhone, no SDK session: 09:00 app_open and 09:01 screen Login before sign-in (as his
          install ben-install), an identify at 09:02, 09:03 screen Home signed in as ben
    cy    SDK session s-3 on one device: D 23:58 app_open on iOS, D+1 00:01 tap on Android
          (the session counts for Android, the platform of its last event)
    dee   iPhone, no SDK session: D 12:00 and 12:40 (two sessions, 40 minutes apart); a late
          event at 12:20 arrives after the first run and joins them into one
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

D = date(2026, 11, 20)
NEXT = D + timedelta(days=1)

Key = tuple[str, date, str]


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=UTC)


def by_key(rows: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """Rows by (user_id, day, platform), screens as a dict."""
    return {
        (row["user_id"], row["day"], row["platform"]): {**row, "screens": dict(row["screens"])}
        for row in rows
    }


@pytest.fixture(scope="module")
def runs(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> dict[str, Any]:
    """gold.user_days and gold.user_summary after the first batch and after a late event."""
    pipeline = new_pipeline()

    def of(user: str | None, device: str, **fields: Any) -> Callable[..., Any]:
        install = f"{user or 'ben'}-install"
        return lambda event_id, when, *a, **kw: app_event(
            event_id, when, *a, user=user, install=install, device=device, **fields, **kw
        )

    ana_iphone = of("ana", "ana-iphone", session="s-1")
    ana_pixel = of("ana", "ana-pixel", session="s-2", os_name="Android", version="3.3.0")
    ben_install = of(None, "ben-iphone")
    ben = of("ben", "ben-iphone")
    cy_ios = of("cy", "cy-phone", session="s-3")
    cy_android = of("cy", "cy-phone", session="s-3", os_name="Android")
    dee = of("dee", "dee-iphone")

    def purchase(event_id: str, clock: str, **properties: Any) -> Any:
        return ana_iphone(event_id, at(NEXT, clock), "purchase", properties=properties)

    pipeline.send(
        [
            ana_iphone("ana-1", at(D, "23:50")),
            ana_iphone("ana-2", at(D, "23:55"), "Home", kind="screen"),
            ana_iphone("ana-3", at(NEXT, "00:05"), "Home", kind="screen"),
            ana_iphone("ana-4", at(NEXT, "00:06"), "Product", kind="screen"),
            purchase("ana-5", "00:07", revenue=10, currency="EUR"),
            purchase("ana-6", "00:08", revenue=5.5, currency="EUR"),
            purchase("ana-7", "00:09", revenue=2, currency="usd"),
            purchase("ana-8", "00:10", revenue=1),
            ana_pixel("ana-9", at(NEXT, "10:00")),
            ana_pixel("ana-10", at(NEXT, "10:01"), "Home", kind="screen"),
            ben_install("ben-1", at(D, "09:00")),
            ben_install("ben-2", at(D, "09:01"), "Login", kind="screen"),
            ben("ben-3", at(D, "09:02"), None, kind="identify"),
            ben("ben-4", at(D, "09:03"), "Home", kind="screen"),
            cy_ios("cy-1", at(D, "23:58")),
            cy_android("cy-2", at(NEXT, "00:01"), "tap"),
            dee("dee-1", at(D, "12:00")),
            dee("dee-3", at(D, "12:40")),
        ]
    )
    pipeline.run()
    first = by_key(pipeline.rows("gold.user_days"))
    pipeline.send([dee("dee-2", at(D, "12:20"))])
    pipeline.run()
    return {
        "first": first,
        "second": by_key(pipeline.rows("gold.user_days")),
        "summary": pipeline.rows("gold.user_summary"),
    }


def counts(row: dict[str, Any]) -> tuple[bool, int, int, int, int]:
    return row["signed_in"], row["sessions"], row["events"], row["screen_views"], row["purchases"]


def test_one_row_per_user_day_and_platform(runs: dict[str, Any]) -> None:
    assert sorted(runs["second"]) == [
        ("ana", D, "ios"),
        ("ana", NEXT, "android"),
        ("ana", NEXT, "ios"),
        ("ben", D, "ios"),
        ("ben-install", D, "ios"),
        ("cy", D, "android"),
        ("cy", D, "ios"),
        ("cy", NEXT, "android"),
        ("dee", D, "ios"),
    ]


def test_a_session_across_midnight_counts_on_the_day_it_started(runs: dict[str, Any]) -> None:
    days = runs["second"]
    before, after = days[("ana", D, "ios")], days[("ana", NEXT, "ios")]

    assert counts(before) == (True, 1, 2, 1, 0)
    assert (before["first_seen"], before["last_seen"]) == (at(D, "23:50"), at(D, "23:55"))
    assert (before["screens"], before["revenue"]) == ({"Home": 1}, [])
    assert counts(after) == (True, 0, 6, 2, 4)  # s-1 goes on: its events, not the session
    assert (after["first_seen"], after["last_seen"]) == (at(NEXT, "00:05"), at(NEXT, "00:10"))
    assert after["screens"] == {"Home": 1, "Product": 1}


def test_revenue_is_summed_per_currency_with_a_purchase_naming_none_last(
    runs: dict[str, Any],
) -> None:
    assert runs["second"][("ana", NEXT, "ios")]["revenue"] == [
        {"currency": "EUR", "amount": 15.5},  # 10 + 5.5
        {"currency": "USD", "amount": 2.0},  # "usd", upper-cased
        {"currency": None, "amount": 1.0},
    ]


def test_the_same_user_on_another_platform_has_a_row_of_its_own(runs: dict[str, Any]) -> None:
    pixel = runs["second"][("ana", NEXT, "android")]

    assert counts(pixel) == (True, 1, 2, 1, 0)
    assert (pixel["screens"], pixel["revenue"]) == ({"Home": 1}, [])


def test_before_sign_in_the_install_is_a_user_and_identify_is_left_out(
    runs: dict[str, Any],
) -> None:
    install, ben = runs["second"][("ben-install", D, "ios")], runs["second"][("ben", D, "ios")]

    assert counts(install) == (False, 1, 2, 1, 0)
    assert install["screens"] == {"Login": 1}
    assert counts(ben) == (True, 1, 1, 1, 0)  # the identify is not an event here
    assert (ben["first_seen"], ben["screens"]) == (at(D, "09:03"), {"Home": 1})


def test_a_session_counts_for_the_platform_of_its_last_event(runs: dict[str, Any]) -> None:
    days = runs["second"]
    ios, android_d, android_next = (
        days[("cy", D, "ios")],
        days[("cy", D, "android")],
        days[("cy", NEXT, "android")],
    )

    assert counts(ios) == (True, 0, 1, 0, 0)  # the app_open, in a session counted for Android
    # Only the session, started on D: seen at its start.
    assert counts(android_d) == (True, 1, 0, 0, 0)
    assert (android_d["first_seen"], android_d["last_seen"]) == (at(D, "23:58"), at(D, "23:58"))
    assert android_d["screens"] == {} and android_d["revenue"] == []
    assert counts(android_next) == (True, 0, 1, 0, 0)


def test_a_late_event_that_joins_two_sessions_is_recounted(runs: dict[str, Any]) -> None:
    before, after = runs["first"][("dee", D, "ios")], runs["second"][("dee", D, "ios")]

    assert counts(before) == (True, 2, 2, 0, 0)  # 12:00 and 12:40: 40 minutes apart
    assert counts(after) == (True, 1, 3, 0, 0)  # 12:20 bridges them: gaps of 20 minutes
    assert after["last_seen"] == at(D, "12:40")


def test_the_days_of_a_user_add_up_to_their_summary(runs: dict[str, Any]) -> None:
    totals: dict[str, list[int]] = {}
    for (user, _, _), row in runs["second"].items():
        sums = totals.setdefault(user, [0, 0, 0])
        for i, column in enumerate(("sessions", "events", "purchases")):
            sums[i] += row[column]

    assert {
        row["user_id"]: [row["sessions"], row["events"], row["purchases"]]
        for row in runs["summary"]
    } == totals


# --- tick by tick ---------------------------------------------------------------------------
#
#     eve   iPhone, no SDK session: D+1 00:10 app_open, 00:20 tap; a tick later, an app_open
#           at D 23:50 (20 minutes before): one session, now started on D
#     ivy   SDK session s-i: D+1 00:10 app_open on iOS, D+2 00:10 tap on Android (the session
#           counts for Android, on D+1); a tick later, an app_open at D 23:50 on iOS starts it
#           on D: the row of D+1 on Android held only the session, and goes
#     fay   D+1 10:00 app_open, nothing later: left alone

USER_DAYS = ["silver.app_events", "silver.sessions", "gold.user_days"]
TABLE = "mobile_user_analytics.gold.user_days"


@pytest.fixture(scope="module")
def late_tick(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> dict[str, Any]:
    """gold.user_days before and after a tick of two late events, that tick's change feed, and
    the table a full rebuild gives."""
    pipeline = new_pipeline()

    def of(user: str, **fields: Any) -> Callable[..., Any]:
        return lambda event_id, when, *a, **kw: app_event(
            event_id, when, *a, user=user, install=f"{user}-install", device=f"{user}-phone",
            **fields, **kw,
        )  # fmt: skip

    eve, fay = of("eve"), of("fay")
    ivy_ios, ivy_android = of("ivy", session="s-i"), of("ivy", session="s-i", os_name="Android")
    pipeline.send(
        [
            eve("eve-2", at(NEXT, "00:10")),
            eve("eve-3", at(NEXT, "00:20"), "tap"),
            ivy_ios("ivy-2", at(NEXT, "00:10")),
            ivy_android("ivy-3", at(NEXT + timedelta(days=1), "00:10"), "tap"),
            fay("fay-1", at(NEXT, "10:00")),
        ]
    )
    pipeline.run(USER_DAYS)
    before = by_key(pipeline.rows("gold.user_days"))
    version = pipeline.lake.version(TABLE)

    pipeline.send([eve("eve-1", at(D, "23:50")), ivy_ios("ivy-1", at(D, "23:50"))])
    pipeline.run(USER_DAYS)
    after = by_key(pipeline.rows("gold.user_days"))
    changes = pipeline.lake.changes_since(TABLE, version).to_pylist()

    pipeline.runner.run(USER_DAYS, full_refresh=True)
    return {
        "before": before,
        "after": after,
        "changes": changes,
        "rebuilt": by_key(pipeline.rows("gold.user_days")),
    }


def change_keys(changes: list[dict[str, Any]], *kinds: str) -> set[Key]:
    return {
        (row["user_id"], row["day"], row["platform"])
        for row in changes
        if row["_change_type"] in kinds
    }


def test_a_late_event_before_midnight_moves_its_session_to_the_day_before(
    late_tick: dict[str, Any],
) -> None:
    before, after = late_tick["before"], late_tick["after"]

    assert counts(before[("eve", NEXT, "ios")]) == (True, 1, 2, 0, 0)
    assert counts(after[("eve", D, "ios")]) == (True, 1, 1, 0, 0)  # the session starts at 23:50
    assert counts(after[("eve", NEXT, "ios")]) == (True, 0, 2, 0, 0)  # its events stay
    assert after[("eve", D, "ios")]["first_seen"] == at(D, "23:50")


def test_a_row_that_held_only_a_session_goes_when_the_session_moves(
    late_tick: dict[str, Any],
) -> None:
    before, after = late_tick["before"], late_tick["after"]

    assert counts(before[("ivy", NEXT, "android")]) == (True, 1, 0, 0, 0)
    assert ("ivy", NEXT, "android") not in after
    assert counts(after[("ivy", D, "android")]) == (True, 1, 0, 0, 0)
    assert counts(after[("ivy", D, "ios")]) == (True, 0, 1, 0, 0)
    assert after[("ivy", NEXT, "ios")] == before[("ivy", NEXT, "ios")]


def test_the_tick_writes_only_the_rows_that_changed(late_tick: dict[str, Any]) -> None:
    changes = late_tick["changes"]

    assert change_keys(changes, "insert") == {
        ("eve", D, "ios"),
        ("ivy", D, "ios"),
        ("ivy", D, "android"),
    }
    assert change_keys(changes, "update_postimage") == {("eve", NEXT, "ios")}
    # D+1 holds no new event: the session's old start, in silver.sessions' lost rows, names it.
    assert change_keys(changes, "delete") == {("ivy", NEXT, "android")}


def test_the_ticks_end_where_a_full_rebuild_does(late_tick: dict[str, Any]) -> None:
    assert late_tick["after"] == late_tick["rebuilt"]
    assert ("fay", NEXT, "ios") in late_tick["after"]
