"""Segment's mobile spec names count as the roles of the app's own names, and every name, a
custom one included, is counted under its own name in gold.events and /mobile/events. Real
Delta tables, a real gateway on loopback; every figure counted by hand from this day:

    2026-11-10 (UTC), iPhone, ios 3.2.0
    lea  s-lea-1  09:00 Application Opened, 09:01 Screen Viewed {name: Home},
                  09:02 Product Added, 09:03 Order Completed {total: 25, currency: usd},
                  09:04 Signup Completed (the app's own name), 09:05 Application Backgrounded
    max  s-max-1  10:00 Application Opened, 10:01 Application Crashed
    max  s-max-2  11:00 app_open (the SDK's own name, still counted)
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

DAY = "2026-11-10"


def at(clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, 10, hours, minutes, tzinfo=UTC)


def segment_mobile_day(app_event: Callable[..., Any]) -> list[Any]:
    def lea(event_id: str, clock: str, name: str, **kw: Any) -> Any:
        return app_event(
            event_id,
            at(clock),
            name,
            user="lea",
            install="lea-install",
            device="lea-iphone",
            session="s-lea-1",
            **kw,
        )

    def max_(event_id: str, clock: str, name: str, session: str) -> Any:
        return app_event(
            event_id,
            at(clock),
            name,
            user="max",
            install="max-install",
            device="max-iphone",
            session=session,
        )

    return [
        lea("lea-1", "09:00", "Application Opened"),
        lea("lea-2", "09:01", "Screen Viewed", properties={"name": "Home"}),
        lea("lea-3", "09:02", "Product Added", properties={"product_id": "p-1"}),
        lea("lea-4", "09:03", "Order Completed", properties={"total": 25, "currency": "usd"}),
        lea("lea-5", "09:04", "Signup Completed"),
        lea("lea-6", "09:05", "Application Backgrounded"),
        max_("max-1", "10:00", "Application Opened", "s-max-1"),
        max_("max-2", "10:01", "Application Crashed", "s-max-1"),
        max_("max-3", "11:00", "app_open", "s-max-2"),
    ]


@dataclass
class App:
    gateway: RunningGateway
    pipeline: Any

    def get(self, path: str, **params: Any) -> httpx2.Response:
        return httpx2.get(
            f"{self.gateway.url}/mobile{path}", params=params, headers=self.gateway.admin
        )

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    new_pipeline: Callable[..., Any],
    app_event: Callable[..., Any],
) -> Iterator[App]:
    folder: Path = tmp_path_factory.mktemp("roles")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        pipeline = new_pipeline(folder / "lake")
        pipeline.send(segment_mobile_day(app_event))
        pipeline.run()
        yield App(gateway, pipeline)


def test_segment_names_count_as_their_roles_in_every_activity_window(app: App) -> None:
    for table in ("activity_1m", "activity_1h", "activity_1d"):
        rows = app.pipeline.rows(f"gold.{table}", platform="*", app_version="*")
        totals = {
            column: sum(row[column] for row in rows)
            for column in (
                "events",
                "screen_views",
                "app_opens",
                "app_backgrounds",
                "taps",
                "add_to_carts",
                "purchases",
                "crashes",
                "other_events",
            )
        }

        assert totals == {
            "events": 9,
            "screen_views": 1,  # Screen Viewed
            "app_opens": 3,  # two Application Opened and one app_open
            "app_backgrounds": 1,
            "taps": 0,
            "add_to_carts": 1,  # Product Added
            "purchases": 1,  # Order Completed
            "crashes": 1,  # Application Crashed
            "other_events": 1,  # Signup Completed, and only it
        }, table


def test_application_crashed_makes_its_session_and_user_crash(app: App) -> None:
    rows = app.ok("/crashes", app_version="3.2.0")["rows"]

    assert [
        (
            r["sessions"],
            r["crashes"],
            r["crashed_sessions"],
            r["crash_free_users"],
            r["crash_free_sessions"],
        )
        for r in rows
    ] == [(3, 1, 1, 0.5, 1 - 1 / 3)]  # lea fine; max crashed in s-max-1 of his two sessions


def test_order_completed_is_a_purchase_with_its_total_as_revenue(app: App) -> None:
    summary = app.ok("/users/lea/summary")

    assert (summary["purchases"], summary["revenue"]) == (1, [{"currency": "USD", "amount": 25.0}])
    (day,) = app.pipeline.rows("gold.user_days", user_id="lea")
    assert (day["purchases"], day["screen_views"], day["screens"]) == (1, 1, [("Home", 1)])


def test_silver_keeps_each_name_as_sent_with_its_role(app: App) -> None:
    rows = app.pipeline.rows("silver.app_events")

    assert sorted((row["event"], row["role"]) for row in rows) == [
        ("Application Backgrounded", "app_background"),
        ("Application Crashed", "crash"),
        ("Application Opened", "app_open"),
        ("Application Opened", "app_open"),
        ("Order Completed", "purchase"),
        ("Product Added", "add_to_cart"),
        ("Screen Viewed", "screen_view"),
        ("Signup Completed", None),
        ("app_open", "app_open"),
    ]


def event(name: str, role: str | None, events: int, users: int, revenue: Any = ()) -> Any:
    return {
        "day": DAY,
        "event": name,
        "role": role,
        "events": events,
        "users": users,
        "revenue": list(revenue),
    }


EVENTS_OF_THE_DAY = [
    # Most sent first, then by name.
    event("Application Opened", "app_open", 2, 2),
    event("Application Backgrounded", "app_background", 1, 1),
    event("Application Crashed", "crash", 1, 1),
    event("Order Completed", "purchase", 1, 1, [{"currency": "USD", "amount": 25.0}]),
    event("Product Added", "add_to_cart", 1, 1),
    event("Screen Viewed", "screen_view", 1, 1),
    event("Signup Completed", None, 1, 1),
    event("app_open", "app_open", 1, 1),
]


def test_every_name_shows_under_its_own_name(app: App) -> None:
    answer = app.ok("/events", **{"from": DAY, "to": DAY})

    assert answer["rows"] == EVENTS_OF_THE_DAY
    assert answer["query"] == {"from": DAY, "to": DAY, "name": None}


def test_events_of_one_name_page_by_page(app: App) -> None:
    one = app.ok("/events", **{"from": DAY, "to": DAY, "name": "Signup Completed"})
    first = app.ok("/events", **{"from": DAY, "to": DAY, "limit": 5})
    rest = app.ok("/events", **{"from": DAY, "to": DAY, "limit": 5, "cursor": first["next_cursor"]})

    assert one["rows"] == [event("Signup Completed", None, 1, 1)]
    assert first["rows"] + rest["rows"] == EVENTS_OF_THE_DAY
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "query.from"),
        ({"from": "2026-11-11", "to": "2026-11-10"}, "query.from"),
        ({"name": ""}, "query.name"),
        ({"limit": 0}, "query.limit"),
    ],
)
def test_a_bad_events_query_is_a_422_naming_the_field(
    app: App, params: dict[str, Any], field: str
) -> None:
    response = app.get("/events", **params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_events_need_the_products_read_permission(app: App) -> None:
    anonymous = httpx2.get(f"{app.gateway.url}/mobile/events")
    stranger = httpx2.get(
        f"{app.gateway.url}/mobile/events",
        headers=app.gateway.headers_for("sam", ["web-user-analytics-owner"]),
    )

    assert (anonymous.status_code, stranger.status_code) == (401, 403)
