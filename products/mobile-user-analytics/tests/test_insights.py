"""Trends of the apps' own events through a real gateway, over a day worked out by hand.

2026-11-20 (UTC): ana (signed in, app 3.2.0) opens the app at 08:00, views the `Home` and
`Cart` screens, adds a 12.5 item to her cart at 08:05 and another of 7.5 at 09:10; bo (no
account: his install counts) on app 3.1.0 opens it at 09:00 and adds a 30 item; ana's identify
call at 08:01 (trait plan: pro) is no event. 2026-11-21: bo opens the app at 23:30, 08:30 on the 22nd in Tokyo.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

ADD = "Product Added"


def at(day: int, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hours, minutes, tzinfo=UTC)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    new_pipeline: Callable[..., Any],
    app_event: Callable[..., Any],
) -> Iterator[RunningGateway]:
    folder: Path = tmp_path_factory.mktemp("insights")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    bo = {"user": None, "install": "bo-install", "device": "bo-phone", "version": "3.1.0"}
    with running_gateway(settings) as running:
        pipeline = new_pipeline(folder / "lake")
        pipeline.send(
            [
                app_event("a1", at(20, "08:00"), "Application Opened"),
                app_event(
                    "a2", at(20, "08:01"), "identify", kind="identify", properties={"plan": "pro"}
                ),
                app_event("a3", at(20, "08:02"), "Home", kind="screen"),
                app_event("a4", at(20, "08:03"), "Cart", kind="screen"),
                app_event("a5", at(20, "08:05"), ADD, properties={"price": 12.5}),
                app_event("a6", at(20, "09:10"), ADD, properties={"price": 7.5}),
                app_event("b1", at(20, "09:00"), "Application Opened", **bo),
                app_event("b2", at(20, "09:20"), ADD, properties={"price": 30}, **bo),
                app_event("b3", at(21, "23:30"), "Application Opened", **bo),
            ]
        )
        pipeline.run()
        yield running


def trends(gateway: RunningGateway, **body: Any) -> dict[str, Any]:
    response = httpx2.post(
        f"{gateway.url}/mobile/insights/trends", json=body, headers=gateway.admin
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


DAYS = {"from": "2026-11-20", "to": "2026-11-22"}


def test_every_event_screens_by_their_own_name_and_no_identify_call(
    gateway: RunningGateway,
) -> None:
    answer = trends(
        gateway,
        series=[
            {},
            {"event": "$screen"},
            {"event": "$screen", "filters": [{"property": "$screen_name", "value": "Cart"}]},
            {"event": "Application Opened", "math": "unique_users"},
        ],
        **DAYS,
    )

    assert answer["timezone"] == "UTC"
    assert [(line["values"], line["total"]) for line in answer["lines"]] == [
        ([7, 1, 0], 8),
        ([2, 0, 0], 2),
        ([1, 0, 0], 1),
        ([2, 1, 0], 2),  # ana by her account, bo by his install
    ]


def test_a_property_summed_and_broken_down_by_app_version(gateway: RunningGateway) -> None:
    answer = trends(
        gateway,
        series=[{"event": ADD, "math": "sum", "property": "price"}],
        breakdown={"property": "$app_version"},
        **DAYS,
    )

    assert [
        (line["breakdown_value"], line["values"], line["total"]) for line in answer["lines"]
    ] == [
        ("3.2.0", [20.0, None, None], 20.0),  # ana's two additions: most frequent first
        ("3.1.0", [30.0, None, None], 30.0),
    ]


def test_a_timezone_moves_events_to_its_own_day(gateway: RunningGateway) -> None:
    answer = trends(
        gateway, series=[{"event": "Application Opened"}], timezone="Asia/Tokyo", **DAYS
    )

    # 08:00 and 09:00 UTC are the 20th in Tokyo too; 23:30 UTC on the 21st is the 22nd there.
    assert answer["lines"][0]["values"] == [2, 0, 1]


def test_a_person_property_set_by_identify_filters_people(gateway: RunningGateway) -> None:
    def additions(operator: str, value: str | None = None) -> Any:
        condition = {"property": "plan", "type": "person", "operator": operator}
        if value is not None:
            condition["value"] = value
        answer = trends(gateway, series=[{"event": ADD}], filters=[condition], **DAYS)
        return answer["lines"][0]["values"]

    assert additions("=", "pro") == [2, 0, 0]  # ana's two
    assert additions("is not set") == [1, 0, 0]  # bo's, whose install has no trait


def test_a_trend_alert_needs_a_webhook_the_product_knows(gateway: RunningGateway) -> None:
    alert = {
        "name": "No additions for an hour",
        "trend": {"series": [{"event": ADD}], "interval": "hour"},
        "condition": "below",
        "threshold": 1,
        "destinations": ["oncall"],
    }
    response = httpx2.post(
        f"{gateway.url}/mobile/insights/alerts", json=alert, headers=gateway.admin
    )
    assert response.status_code == 422, response.text
    assert "body.destinations[0]" in response.text and "alert_webhooks" in response.text
