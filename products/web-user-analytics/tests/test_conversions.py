"""A shop's own event names: Segment's e-commerce `Order Completed` is a conversion with its
revenue, and every tracked name shows under its own name in /web/events. Through a real gateway
on loopback, over a day worked out by hand:

2026-12-05 (UTC, the reporting timezone), all on Chrome, Windows, no referrer:
- gina: / 10:00, /products/lamp 10:01, /cart 10:02, /checkout 10:03, then `Order Completed`
  10:04 with revenue 120.50 EUR (sent as `eur`). The whole checkout funnel.
- hugo: / 11:00, `Order Completed` 11:01 with `total` 30 USD and no `revenue`.
- ines: / 12:00, `purchase` 12:01 with `value` 9.50 and no currency.
- jon: / 13:00, `Checkout Started` 13:01 carrying revenue 99 EUR (not a conversion), then
  `Signup Completed` 13:02 and 13:03 (a name of the shop's own).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

DAY = {"from": "2026-12-05", "to": "2026-12-05"}


def at(clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(2026, 12, 5, hours, minutes, tzinfo=UTC)


def shop_with_segment_names(sdk) -> list[Any]:  # type: ignore[no-untyped-def]
    return [
        sdk.page("gina", at("10:00"), "/", message_id="gina-1"),
        sdk.page("gina", at("10:01"), "/products/lamp"),
        sdk.page("gina", at("10:02"), "/cart"),
        sdk.page("gina", at("10:03"), "/checkout"),
        sdk.track(
            "gina",
            at("10:04"),
            "Order Completed",
            "/checkout",
            properties={"order_id": "o-1", "revenue": 120.5, "currency": "eur"},
        ),
        sdk.page("hugo", at("11:00"), "/", message_id="hugo-1"),
        sdk.track(
            "hugo",
            at("11:01"),
            "Order Completed",
            "/",
            properties={"order_id": "o-2", "total": 30, "currency": "USD"},
        ),
        sdk.page("ines", at("12:00"), "/", message_id="ines-1"),
        sdk.track("ines", at("12:01"), "purchase", "/", properties={"value": 9.5}),
        sdk.page("jon", at("13:00"), "/", message_id="jon-1"),
        sdk.track(
            "jon",
            at("13:01"),
            "Checkout Started",
            "/",
            properties={"revenue": 99, "currency": "EUR"},
        ),
        sdk.track("jon", at("13:02"), "Signup Completed", "/"),
        sdk.track("jon", at("13:03"), "Signup Completed", "/"),
    ]


@dataclass
class Shop:
    gateway: RunningGateway
    models: Any

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.gateway.url}/web{path}", params=params, headers=self.gateway.admin)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def shop(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("conversions")
    settings = platform_settings(f"sqlite:///{folder / 'platform.db'}", folder / "lake")
    with make_models(folder) as models, running_gateway(settings) as gateway:
        to_bronze(models.lake, shop_with_segment_names(sdk))
        models.run()
        yield Shop(gateway, models)


def test_order_completed_counts_as_a_conversion_with_its_revenue_in_the_overview(
    shop: Shop,
) -> None:
    answer = shop.ok("/overview", **DAY)

    # gina's 120.50 (revenue), hugo's 30 (total), ines's 9.50 (value); jon's 99 on
    # `Checkout Started` is not a conversion.
    assert (answer["totals"]["conversions"], answer["totals"]["revenue"]) == (3, 160.0)
    ((day,),) = [answer["days"]]
    assert (day["conversions"], day["revenue"]) == (3, 160.0)


def test_each_session_carries_its_conversion_and_revenue_read_in_the_specs_order(
    shop: Shop,
) -> None:
    rows = shop.ok("/sessions", **DAY)["rows"]

    assert {
        row["session_id"]: (row["conversions"], row["revenue"], row["is_engaged"]) for row in rows
    } == {
        "gina-1": (1, 120.5, True),  # revenue
        "hugo-1": (1, 30.0, True),  # no revenue: total; a conversion engages
        "ines-1": (1, 9.5, True),  # neither: value
        "jon-1": (0, 0.0, True),
    }


def test_order_completed_completes_the_checkout_funnel(shop: Shop) -> None:
    answer = shop.ok("/funnels/checkout/results", **DAY)

    assert [(step["name"], step["people"]) for step in answer["steps"]] == [
        ("/", 4),
        ("/products/*", 1),
        ("/cart", 1),
        ("/checkout", 1),
        ("conversion", 1),
    ]
    assert answer["funnel"]["steps"][-1] == {"conversion": True}


def test_a_funnel_step_may_name_the_segment_event_itself(shop: Shop) -> None:
    body = {"name": "Home to order", "steps": [{"page": "/"}, {"event": "Order Completed"}]}
    created = httpx.post(f"{shop.gateway.url}/web/funnels", json=body, headers=shop.gateway.admin)
    assert created.status_code == 201, created.text

    results = shop.ok(f"/funnels/{created.json()['id']}/results", **DAY)

    assert [step["people"] for step in results["steps"]] == [4, 2]  # gina and hugo


@pytest.mark.parametrize(
    "step",
    [{"conversion": False}, {"conversion": True, "event": "Order Completed"}],
)
def test_a_conversion_step_is_true_and_alone(shop: Shop, step: dict[str, Any]) -> None:
    body = {"name": "Bad", "steps": [{"page": "/"}, step]}
    response = httpx.post(f"{shop.gateway.url}/web/funnels", json=body, headers=shop.gateway.admin)

    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith("body.steps.1")
    assert "conversion" in response.json()["detail"]


EVENTS_OF_THE_DAY = [
    # Most sent first, then by name.
    {
        "day": "2026-12-05",
        "event": "Order Completed",
        "events": 2,
        "users": 2,
        "conversions": 2,
        "revenue": [{"currency": "EUR", "amount": 120.5}, {"currency": "USD", "amount": 30.0}],
    },
    {
        "day": "2026-12-05",
        "event": "Signup Completed",
        "events": 2,
        "users": 1,
        "conversions": 0,
        "revenue": [],
    },
    {
        "day": "2026-12-05",
        "event": "Checkout Started",
        "events": 1,
        "users": 1,
        "conversions": 0,
        "revenue": [{"currency": "EUR", "amount": 99.0}],
    },
    {
        "day": "2026-12-05",
        "event": "purchase",
        "events": 1,
        "users": 1,
        "conversions": 1,
        "revenue": [{"currency": None, "amount": 9.5}],
    },
]


def test_every_event_name_shows_under_its_own_name(shop: Shop) -> None:
    answer = shop.ok("/events", **DAY)

    assert answer["rows"] == EVENTS_OF_THE_DAY
    assert answer["next_cursor"] is None


def test_events_of_one_name(shop: Shop) -> None:
    answer = shop.ok("/events", **DAY, name="Signup Completed")

    assert answer["rows"] == [EVENTS_OF_THE_DAY[1]]
    assert answer["name"] == "Signup Completed"
    assert shop.ok("/events", **DAY, name="Signup completed")["rows"] == []  # names are exact


def test_events_page_without_skipping_or_repeating(shop: Shop) -> None:
    first = shop.ok("/events", **DAY, limit=3)
    second = shop.ok("/events", **DAY, limit=3, cursor=first["next_cursor"])

    assert first["rows"] + second["rows"] == EVENTS_OF_THE_DAY
    assert second["next_cursor"] is None


def test_silver_keeps_every_name_as_sent(shop: Shop) -> None:
    rows = shop.models.rows("silver.page_views")
    tracked = {
        (row["event"], row["is_conversion"], row["currency"])
        for row in rows
        if row["type"] == "track"
    }

    assert tracked == {
        ("Order Completed", True, "EUR"),
        ("Order Completed", True, "USD"),
        ("purchase", True, None),
        ("Checkout Started", False, "EUR"),
        ("Signup Completed", False, None),
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "query.from"),
        ({"from": "2026-12-06", "to": "2026-12-05"}, "query.to"),
        ({"name": ""}, "query.name"),
        ({"limit": 0}, "query.limit"),
    ],
)
def test_a_bad_events_query_is_refused_naming_the_field(
    shop: Shop, params: dict[str, Any], field: str
) -> None:
    response = shop.get("/events", **params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_events_need_the_products_read_permission(shop: Shop) -> None:
    anonymous = httpx.get(f"{shop.gateway.url}/web/events", params=DAY)
    stranger = httpx.get(
        f"{shop.gateway.url}/web/events",
        params=DAY,
        headers=shop.gateway.headers_for("sam", ["mobile-user-analytics-owner"]),
    )

    assert (anonymous.status_code, stranger.status_code) == (401, 403)


def test_conversion_events_and_the_reporting_day_follow_the_settings(  # type: ignore[no-untyped-def]
    make_models, sdk, to_bronze, tmp_path_factory
) -> None:
    with pytest.MonkeyPatch.context() as settings:
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_CONVERSION_EVENTS", '["Signup Completed"]')
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_REPORTING_TIMEZONE", "Europe/Paris")
        models = make_models(tmp_path_factory.mktemp("signups"))
    late_evening = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)  # 00:30 on 12-06 in Paris
    with models:
        to_bronze(
            models.lake,
            [
                sdk.track("kim", late_evening, "Signup Completed", properties={"value": 5}),
                sdk.track("kim", late_evening, "Order Completed", properties={"revenue": 50}),
            ],
        )
        models.run()
        events = models.rows("gold.events", "event")
        sessions = models.rows("gold.sessions")

    assert [(str(r["day"]), r["event"], r["conversions"]) for r in events] == [
        ("2026-12-06", "Order Completed", 0),  # not in this shop's conversion_events
        ("2026-12-06", "Signup Completed", 1),
    ]
    assert [(r["conversions"], r["revenue"]) for r in sessions] == [(1, 5.0)]
