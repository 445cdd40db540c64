"""The /mobile API through a real gateway, over gold tables the models computed from a
hand-made calendar of app events. Every expected figure is counted by hand below.

D is nine days ago (UTC); today is D+9. The module runs with the clock frozen at noon of today,
then ticking, so that "today" is one day for the test and the server however long it runs.

    D    09:00  ana  iPhone ios 3.2.0  s-ana-1: app_open, screen Home, purchase 9.99 EUR
                                       (sent twice), app_background
         09:00  ben  iPhone ios 3.2.0  s-ben-1: app_open, crash
         10:00  inst-9 (never signed in) Pixel android 3.3.0, no SDK session id:
                app_open 10:00, tap 10:20, tap 10:55 (35 min later: a second session)
         21:00  ana  Pixel android 3.3.0  s-ana-2: app_open, screen Cart
    D+1  20:00  ben  iPhone ios 3.2.0  s-ben-3: tap            (arrives after the first run)
    D+2  12:00  ana  Pixel android 3.3.0  s-ana-4: app_open
    D+7  08:00  ben  iPhone ios 3.2.0  s-ben-2: app_open, purchase 20 USD
         08:00  cy   Pixel android 3.3.0  s-cy-1: app_open
    D+8  23:00  dee  Pixel android 3.3.0  s-dee-1: app_open
    D+9  00:00  dee  Pixel android 3.3.0  s-dee-2: screen Home   (today)
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import time_machine

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
D = TODAY - timedelta(days=9)


def at(day: int, clock: str) -> datetime:
    """D+`day` at `clock` (HH:MM or HH:MM:SS), UTC."""
    return datetime.combine(D + timedelta(days=day), time.fromisoformat(clock), tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module")
def gateway(
    clock: None,
    tmp_path_factory: pytest.TempPathFactory,
    new_pipeline: Callable[..., Any],
    app_event: Callable[..., Any],
) -> Iterator[RunningGateway]:
    folder: Path = tmp_path_factory.mktemp("gateway")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as running:
        send_calendar(new_pipeline(folder / "lake"), app_event)
        yield running


def send_calendar(pipeline: Any, app_event: Callable[..., Any]) -> None:
    def person(user: str | None, device: str, android: bool) -> Callable[..., Any]:
        platform = {"os_name": "Android", "version": "3.3.0"} if android else {}
        install = f"{user}-install" if user else "inst-9"
        return lambda event_id, when, name="app_open", **kw: app_event(
            event_id, when, name, user=user, install=install, device=device, **platform, **kw
        )

    ana_iphone = person("ana", "ana-iphone", android=False)
    ana_pixel = person("ana", "ana-pixel", android=True)
    ben = person("ben", "ben-iphone", android=False)
    inst_9 = person(None, "inst-9-pixel", android=True)
    cy = person("cy", "cy-pixel", android=True)
    dee = person("dee", "dee-pixel", android=True)
    purchase = ana_iphone(
        "ana-3",
        at(0, "09:01:05"),
        "purchase",
        session="s-ana-1",
        properties={"revenue": 9.99, "currency": "EUR"},
    )
    first = [
        # Out of order, as devices deliver them.
        ana_iphone("ana-4", at(0, "09:02:00"), "app_background", session="s-ana-1"),
        ana_iphone("ana-1", at(0, "09:00:10"), session="s-ana-1"),
        purchase,
        purchase,
        ana_iphone("ana-2", at(0, "09:00:40"), "Home", kind="screen", session="s-ana-1"),
        ben("ben-1", at(0, "09:00:30"), session="s-ben-1"),
        ben("ben-2", at(0, "09:01:30"), "crash", session="s-ben-1"),
        inst_9("inst-1", at(0, "10:00")),
        inst_9("inst-2", at(0, "10:20"), "tap"),
        inst_9("inst-3", at(0, "10:55"), "tap"),
        ana_pixel("ana-5", at(0, "21:00:00"), session="s-ana-2"),
        ana_pixel("ana-6", at(0, "21:00:20"), "Cart", kind="screen", session="s-ana-2"),
        ana_pixel("ana-7", at(2, "12:00"), session="s-ana-4"),
        ben("ben-4", at(7, "08:00"), session="s-ben-2"),
        ben(
            "ben-5",
            at(7, "08:05"),
            "purchase",
            session="s-ben-2",
            properties={"revenue": 20, "currency": "USD"},
        ),
        cy("cy-1", at(7, "08:00:15"), session="s-cy-1"),
        dee("dee-1", at(8, "23:00"), session="s-dee-1"),
        dee("dee-2", at(9, "00:00:05"), "Home", kind="screen", session="s-dee-2"),
    ]
    pipeline.send(first)
    pipeline.run()
    late = [ben("ben-3", at(1, "20:00"), "tap", session="s-ben-3"), purchase]  # and a retry
    pipeline.send(late)
    pipeline.run()


@pytest.fixture(scope="module")
def admin(gateway: RunningGateway) -> dict[str, str]:
    return gateway.admin


def get(gateway: RunningGateway, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx2.get(f"{gateway.url}/mobile{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def every_page(gateway: RunningGateway, headers: dict[str, str], path: str, **params: Any) -> Any:
    """All rows of a list endpoint, following `next_cursor` to the end."""
    rows, pages, cursor = [], 0, None
    while True:
        answer = get(gateway, headers, path, **params, **({"cursor": cursor} if cursor else {}))
        rows += answer["rows"]
        pages += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            return rows, pages


# --- users ------------------------------------------------------------------------------------


def test_a_user_on_two_devices_is_one_user_with_both_platforms(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    summary = get(gateway, admin, "/users/ana/summary")

    assert summary == {
        "user_id": "ana",
        "signed_in": True,
        "first_seen": at(0, "09:00:10").isoformat(),
        "last_seen": at(2, "12:00").isoformat(),
        "sessions": 3,  # s-ana-1 on the iPhone, s-ana-2 and s-ana-4 on the Pixel
        "events": 7,  # 4 (the purchase once) + 2 + 1
        "platforms": ["android", "ios"],
        "app_versions": ["3.2.0", "3.3.0"],  # in the order first used
        "purchases": 1,
        "revenue": [{"currency": "EUR", "amount": 9.99}],
        "last_event": "app_open",
    }


def test_a_late_event_and_a_purchase_in_another_currency_count_for_their_user(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    summary = get(gateway, admin, "/users/ben/summary")

    assert (summary["sessions"], summary["events"], summary["purchases"]) == (3, 5, 1)
    assert summary["revenue"] == [{"currency": "USD", "amount": 20.0}]
    assert (summary["last_event"], summary["last_seen"]) == ("purchase", at(7, "08:05").isoformat())


def test_an_install_that_never_signed_in_is_a_user_of_its_own(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    summary = get(gateway, admin, "/users/inst-9/summary")

    # tap at 10:55 comes 35 minutes after the one at 10:20: a second session.
    assert (summary["signed_in"], summary["sessions"], summary["events"]) == (False, 2, 3)
    assert summary["revenue"] == [] and summary["platforms"] == ["android"]


def test_an_unknown_user_is_404(gateway: RunningGateway, admin: dict[str, str]) -> None:
    response = httpx2.get(f"{gateway.url}/mobile/users/nobody/summary", headers=admin)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_pii_is_masked_for_a_viewer_and_shown_to_the_admin(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    viewer = gateway.headers_for("vera", ["viewer"])
    reader = gateway.headers_for("pia", ["viewer", "pii-reader"])

    masked = get(gateway, viewer, "/users/ana/summary")

    assert masked["user_id"] == "***" and masked["events"] == 7
    assert get(gateway, reader, "/users/ana/summary")["user_id"] == "ana"
    assert get(gateway, admin, "/users/ana/summary")["user_id"] == "ana"


def test_a_users_days_are_published_per_day_and_platform(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    rows, _ = every_page(gateway, admin, "/tables/user_days", limit=2)
    ana = sorted(
        (r for r in rows if r["user_id"] == "ana"), key=lambda r: (r["day"], r["platform"])
    )

    def figures(row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            row["day"],
            row["platform"],
            row["sessions"],
            row["events"],
            row["screen_views"],
            row["purchases"],
            row["revenue"],
            row["screens"],  # a JSON object, screen -> views
        )

    assert [figures(row) for row in ana] == [
        (D.isoformat(), "android", 1, 2, 1, 0, [], {"Cart": 1}),  # s-ana-2
        # s-ana-1: app_open, Home, the purchase once (sent twice, retried), app_background.
        (D.isoformat(), "ios", 1, 4, 1, 1, [{"currency": "EUR", "amount": 9.99}], {"Home": 1}),
        ((D + timedelta(2)).isoformat(), "android", 1, 1, 0, 0, [], {}),  # s-ana-4
    ]
    assert (ana[1]["first_seen"], ana[1]["last_seen"]) == (
        at(0, "09:00:10").isoformat(),
        at(0, "09:02:00").isoformat(),
    )
    viewer = gateway.headers_for("vic", ["viewer"])
    masked, _ = every_page(gateway, viewer, "/tables/user_days")
    assert {row["user_id"] for row in masked} == {"***"}
    assert len(masked) == len(rows)


def test_without_a_credential_every_route_is_401(gateway: RunningGateway) -> None:
    for path in (
        "/users/ana/summary",
        "/activity",
        "/active-users",
        "/retention",
        "/crashes",
        "/versions",
    ):
        response = httpx2.get(f"{gateway.url}/mobile{path}")
        assert response.status_code == 401, path


# --- activity ---------------------------------------------------------------------------------


def counts(row: dict[str, Any]) -> tuple[str, int, int, int]:
    return row["window_start"], row["events"], row["active_users"], row["crashes"]


def test_activity_by_minute(gateway: RunningGateway, admin: dict[str, str]) -> None:
    answer = get(
        gateway, admin, "/activity", granularity="minute", **{"from": D, "to": D + timedelta(1)}
    )

    assert [counts(row) for row in answer["rows"]] == [
        (at(0, "09:00").isoformat(), 3, 2, 0),  # ana app_open + screen, ben app_open
        (at(0, "09:01").isoformat(), 2, 2, 1),  # ana purchase (once), ben crash
        (at(0, "09:02").isoformat(), 1, 1, 0),
        (at(0, "10:00").isoformat(), 1, 1, 0),
        (at(0, "10:20").isoformat(), 1, 1, 0),
        (at(0, "10:55").isoformat(), 1, 1, 0),
        (at(0, "21:00").isoformat(), 2, 1, 0),
    ]
    assert answer["query"]["platform"] == "*" and answer["query"]["app_version"] == "*"


def test_activity_by_hour_counts_events_by_type(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(
        gateway,
        admin,
        "/activity",
        granularity="hour",
        **{"from": at(0, "09:00"), "to": at(0, "11:00")},
    )

    nine, ten = answer["rows"]
    assert {k: v for k, v in nine.items() if k not in ("window_start",)} == {
        "platform": "*",
        "app_version": "*",
        "events": 6,
        "screen_views": 1,
        "app_opens": 2,
        "app_backgrounds": 1,
        "taps": 0,
        "add_to_carts": 0,
        "purchases": 1,
        "crashes": 1,
        "other_events": 0,
        "active_users": 2,
    }
    assert (ten["events"], ten["app_opens"], ten["taps"], ten["active_users"]) == (3, 1, 2, 1)


def test_activity_by_day_counts_a_user_on_two_platforms_once(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    def day_zero(**filters: str) -> tuple[str, int, int, int]:
        answer = get(
            gateway,
            admin,
            "/activity",
            granularity="day",
            **{"from": D, "to": D + timedelta(1)},
            **filters,
        )
        (row,) = answer["rows"]
        return counts(row)

    midnight = at(0, "00:00").isoformat()
    # ana (iPhone and Pixel), ben and inst-9; 6 events on ios, 3 + 2 on android.
    assert day_zero() == (midnight, 11, 3, 1)
    assert day_zero(platform="ios") == (midnight, 6, 2, 1)
    assert day_zero(platform="android") == (midnight, 5, 2, 0)
    assert day_zero(app_version="3.3.0") == (midnight, 5, 2, 0)


def test_activity_filters_to_a_platform_and_version_that_ran_nothing_answer_no_rows(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(
        gateway,
        admin,
        "/activity",
        granularity="day",
        platform="android",
        app_version="3.2.0",
        **{"from": D, "to": TODAY},
    )

    assert answer["rows"] == []


def test_activity_by_day_over_the_whole_calendar(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(gateway, admin, "/activity", granularity="day", **{"from": D})

    assert [counts(row) for row in answer["rows"]] == [
        (at(0, "00:00").isoformat(), 11, 3, 1),
        (at(1, "00:00").isoformat(), 1, 1, 0),  # ben's late tap
        (at(2, "00:00").isoformat(), 1, 1, 0),
        (at(7, "00:00").isoformat(), 3, 2, 0),
        (at(8, "00:00").isoformat(), 1, 1, 0),
        (at(9, "00:00").isoformat(), 1, 1, 0),
    ]


def test_activity_pages_through_every_window_once(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    whole = get(
        gateway, admin, "/activity", granularity="minute", **{"from": D, "to": D + timedelta(1)}
    )["rows"]

    paged, pages = every_page(
        gateway,
        admin,
        "/activity",
        granularity="minute",
        limit=3,
        **{"from": D, "to": D + timedelta(1)},
    )

    assert len(whole) == 7 and pages == 3  # 3 + 3 + 1
    assert paged == whole


def test_activity_defaults_to_the_last_seven_days_by_hour(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(gateway, admin, "/activity")

    start = datetime.fromisoformat(answer["query"]["from"])
    end = datetime.fromisoformat(answer["query"]["to"])
    every_hour_with_events = [
        at(0, "09:00"),
        at(0, "10:00"),
        at(0, "21:00"),
        at(1, "20:00"),
        at(2, "12:00"),  # D+2 is 7 days ago: in or out depending on the hour of the day
        at(7, "08:00"),
        at(8, "23:00"),
        at(9, "00:00"),
    ]
    assert answer["query"]["granularity"] == "hour"
    assert start == (end - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    assert [row["window_start"] for row in answer["rows"]] == [
        hour.isoformat() for hour in every_hour_with_events if hour >= start
    ]


# --- active users, retention ------------------------------------------------------------------


def test_dau_wau_mau_on_the_calendar(gateway: RunningGateway, admin: dict[str, str]) -> None:
    answer = get(gateway, admin, "/active-users", **{"from": D})

    assert [(r["day"], r["dau"], r["wau"], r["mau"]) for r in answer["rows"]] == [
        (str(D), 3, 3, 3),  # ana, ben, inst-9
        (str(D + timedelta(1)), 1, 3, 3),  # ben (late)
        (str(D + timedelta(2)), 1, 3, 3),  # ana
        (str(D + timedelta(3)), 0, 3, 3),
        (str(D + timedelta(4)), 0, 3, 3),
        (str(D + timedelta(5)), 0, 3, 3),
        (str(D + timedelta(6)), 0, 3, 3),  # D is still in the 7 days
        (str(D + timedelta(7)), 2, 3, 4),  # ben, cy; the week is ana, ben, cy (inst-9 left)
        (str(D + timedelta(8)), 1, 4, 5),  # dee; the week D+2..D+8 is ana, ben, cy, dee
        (str(D + timedelta(9)), 1, 3, 5),  # dee; the week D+3..D+9 is ben, cy, dee
    ]


def test_active_users_default_to_the_last_thirty_days(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(gateway, admin, "/active-users")

    assert answer["query"] == {"from": str(TODAY - timedelta(29)), "to": str(TODAY)}
    assert len(answer["rows"]) == 10


def test_retention_is_counted_exactly_on_day_n_and_null_until_that_day_is_over(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(gateway, admin, "/retention", **{"from": D})

    def day(n: int, retained: int | None, users: int) -> dict[str, Any]:
        rate = None if retained is None else retained / users
        return {"day": n, "retained_users": retained, "rate": rate}

    assert answer["query"]["days"] == [1, 7, 14, 30]
    assert answer["rows"] == [
        {
            # ana, ben and inst-9. Day 1: ben's late tap (ana came back on day 2, not day 1).
            # Day 7: ben. Day 14 and 30 have not come yet.
            "cohort_day": str(D),
            "users": 3,
            "retention": [day(1, 1, 3), day(7, 1, 3), day(14, None, 3), day(30, None, 3)],
        },
        {
            # cy; day 1 (yesterday) is over and cy did not come back.
            "cohort_day": str(D + timedelta(7)),
            "users": 1,
            "retention": [day(1, 0, 1), day(7, None, 1), day(14, None, 1), day(30, None, 1)],
        },
        {
            # dee, back today: day 1 is today, not over yet.
            "cohort_day": str(D + timedelta(8)),
            "users": 1,
            "retention": [day(1, None, 1), day(7, None, 1), day(14, None, 1), day(30, None, 1)],
        },
    ]


# --- versions and crashes ---------------------------------------------------------------------


def test_a_crash_in_one_app_version_only(gateway: RunningGateway, admin: dict[str, str]) -> None:
    answer = get(gateway, admin, "/crashes")

    assert answer["rows"] == [
        {
            # ana (s-ana-2, s-ana-4), inst-9 (two sessions), cy, dee (two sessions)
            "app_version": "3.3.0",
            "platform": "*",
            "users": 4,
            "sessions": 7,
            "crashes": 0,
            "crashed_users": 0,
            "crashed_sessions": 0,
            "crash_free_users": 1.0,
            "crash_free_sessions": 1.0,
        },
        {
            # ana (s-ana-1), ben (s-ben-1 crashed, s-ben-3, s-ben-2)
            "app_version": "3.2.0",
            "platform": "*",
            "users": 2,
            "sessions": 4,
            "crashes": 1,
            "crashed_users": 1,
            "crashed_sessions": 1,
            "crash_free_users": 0.5,
            "crash_free_sessions": 0.75,
        },
    ]
    one = get(gateway, admin, "/crashes", app_version="3.2.0", platform="ios")["rows"]
    assert [(r["app_version"], r["platform"], r["crash_free_users"]) for r in one] == [
        ("3.2.0", "ios", 0.5)
    ]


def test_versions_newest_first_with_their_adoption(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    answer = get(gateway, admin, "/versions", platform="android")

    assert answer["rows"] == [
        {
            "app_version": "3.3.0",
            "platform": "android",
            "first_seen": at(0, "10:00").isoformat(),
            "last_seen": at(9, "00:00:05").isoformat(),
            "users": 4,
            "sessions": 7,
            "events": 3 + 2 + 1 + 1 + 1 + 1,
        }
    ]
    assert [r["app_version"] for r in get(gateway, admin, "/versions")["rows"]] == [
        "3.3.0",
        "3.2.0",
    ]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/activity", {"from": "2026-13-01"}, "query.from"),
        ("/activity", {"to": "yesterday"}, "query.to"),
        ("/activity", {"granularity": "week"}, "query.granularity"),
        ("/activity", {"platform": "windows"}, "query.platform"),
        ("/activity", {"app_version": "3.2.0; drop"}, "query.app_version"),
        ("/activity", {"limit": 0}, "query.limit"),
        ("/activity", {"from": "2026-11-20", "to": "2026-11-19"}, "query.from"),
        ("/active-users", {"from": "2026-02-30"}, "query.from"),
        ("/active-users", {"from": "2026-11-20", "to": "2026-11-01"}, "query.from"),
        ("/retention", {"to": "not-a-day"}, "query.to"),
        ("/crashes", {"platform": "ipados"}, "query.platform"),
        ("/versions", {"limit": 1001}, "query.limit"),
        ("/versions", {"cursor": "bm90LWEtY3Vyc29y"}, "query.cursor"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    gateway: RunningGateway, admin: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    response = httpx2.get(f"{gateway.url}/mobile{path}", params=params, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/retention", {"to": "0001-01-01"}, "query.to"),
        ("/active-users", {"to": "0001-01-01"}, "query.to"),
        ("/activity", {"to": "0001-01-01"}, "query.to"),
        ("/activity", {"from": "0001-01-01T00:00:00+01:00"}, "query.from"),
        ("/active-users", {"from": "9999-12-31"}, "query.from"),
    ],
)
def test_a_day_out_of_the_reporting_range_is_a_422_naming_it_and_the_range(
    gateway: RunningGateway, admin: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    response = httpx2.get(f"{gateway.url}/mobile{path}", params=params, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert "from 2000-01-01 to 2100-12-31" in response.json()["detail"]


def test_too_many_windows_is_a_422_naming_the_limit(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    response = httpx2.get(
        f"{gateway.url}/mobile/activity",
        params={"granularity": "minute", "from": str(D), "to": str(D + timedelta(days=8))},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.json()["field"] == "query.to"
    assert "11520 minute windows" in response.json()["detail"]
    assert "at most 10080" in response.json()["detail"]


def test_a_cursor_of_another_query_is_refused(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    first = get(gateway, admin, "/active-users", limit=2, **{"from": D})
    response = httpx2.get(
        f"{gateway.url}/mobile/versions",
        params={"cursor": first["next_cursor"]},
        headers=admin,
    )

    assert response.status_code == 422 and response.json()["field"] == "query.cursor"


def test_days_from_and_to_are_both_included(gateway: RunningGateway, admin: dict[str, str]) -> None:
    answer = get(
        gateway, admin, "/active-users", **{"from": D + timedelta(7), "to": D + timedelta(8)}
    )

    assert [row["day"] for row in answer["rows"]] == [str(D + timedelta(7)), str(D + timedelta(8))]


def test_ready_shows_the_products_health_checks(gateway: RunningGateway) -> None:
    response = httpx2.get(f"{gateway.url}/ready")

    mobile = response.json()["products"]["mobile-user-analytics"]
    checks = {check["name"]: check for check in mobile["checks"]}
    assert mobile["status"] == "ok"
    assert checks["bronze_to_gold_lag"]["detail"] == (
        "every gold table has taken in every bronze commit"
    )
    assert checks["table_freshness"]["detail"] == (
        "every table has taken in its inputs' latest commits"
    )
    assert checks["quarantine_rate"]["detail"].startswith("0.00% of the last 24 h's events")
