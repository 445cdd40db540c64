"""Trends of the site's own events through a real gateway, over a world worked out by hand.

Times are UTC; Paris is UTC+1 until clocks jump to UTC+2 at 01:00 UTC on 2026-03-29, and back
at 01:00 UTC on 2026-10-25. Each browser is one person (nobody signs in).

`Signup Completed` (plan):
- ann 03-27 22:30 (Paris 27th 23:30, pro)    - ben 03-27 23:30 (Paris 28th 00:30, free)
- cat 03-28 10:00 (free)                     - eve 03-28 15:00 (no plan)
- dan 03-29 00:30 (Paris 01:30 UTC+1, team)  - ann 03-29 01:30 (Paris 03:30 UTC+2, pro)
- ben 03-29 21:59 (Paris 29th 23:59, free)   - cat 03-29 22:00 (Paris 30th 00:00, pro)
Per Paris day 27..30: 1, 3, 3, 1; per UTC day: 2, 2, 4, 0.

People's traits (identify): ann tier silver then gold, employees 5; ben tier silver; cat tier
gold, employees 50; dan and eve none.

`Order Completed` (revenue): ann 03-28 09:00 (10) and 12:00 (30), ben 03-28 13:00 (20),
cat 03-29 12:00 (40). Page views: ann /pricing 03-28 08:00, dan /pricing 03-29 08:00,
ben /docs 03-29 09:00. In autumn: `Signup Completed` by fay at 00:15 and gus at 01:15 on 10-25,
both 02:15 on Paris clocks (first UTC+2, then UTC+1).
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.insights import TREND_ALERT_CHECKS_SCHEMA, check_trend_alerts
from dataplatform.core.insights._source import job_read
from dataplatform.core.jobs import JobContext
from dataplatform.core.product_config import ProductConfigs
from dataplatform.core.serving import TableSnapshots
from dataplatform.core.signing import signature_of
from dataplatform.testing import RunningGateway, platform_settings, running_gateway
from web_user_analytics.product import product
from web_user_analytics.serving.insights import web_events

PARIS = "Europe/Paris"
SIGNUP = "Signup Completed"
ORDER = "Order Completed"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


def world(sdk) -> list[Any]:  # type: ignore[no-untyped-def]
    def signup(who: str, when: str, plan: str | None) -> Any:
        return sdk.track(
            who, at(when), SIGNUP, "/signup", properties={"plan": plan} if plan else {}
        )

    def order(who: str, when: str, revenue: float) -> Any:
        return sdk.track(who, at(when), ORDER, "/checkout", properties={"revenue": revenue})

    return [
        signup("ann", "03-27T22:30", "pro"),
        signup("ben", "03-27T23:30", "free"),
        signup("cat", "03-28T10:00", "free"),
        signup("eve", "03-28T15:00", None),
        signup("dan", "03-29T00:30", "team"),
        signup("ann", "03-29T01:30", "pro"),
        signup("ben", "03-29T21:59", "free"),
        signup("cat", "03-29T22:00", "pro"),
        order("ann", "03-28T09:00", 10),
        order("ann", "03-28T12:00", 30),
        order("ben", "03-28T13:00", 20),
        order("cat", "03-29T12:00", 40),
        sdk.page("ann", at("03-28T08:00"), "/pricing"),
        sdk.page("dan", at("03-29T08:00"), "/pricing"),
        sdk.page("ben", at("03-29T09:00"), "/docs"),
        signup("fay", "10-25T00:15", "pro"),
        signup("gus", "10-25T01:15", "pro"),
        # Traits set on people (each signs in under their browser's id: no person changes).
        sdk.identify("ann", "ann", at("03-28T09:30"), {"tier": "silver", "employees": 5}),
        sdk.identify("ann", "ann", at("03-28T12:30"), {"tier": "gold"}),
        sdk.identify("ben", "ben", at("03-28T13:30"), {"tier": "silver"}),
        sdk.identify("cat", "cat", at("03-29T12:30"), {"tier": "gold", "employees": 50}),
    ]


@dataclass
class Insights:
    gateway: RunningGateway
    admin: dict[str, str]

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.gateway.url}/web/insights/trends",
            json=body,
            headers=self.admin if headers is None else headers,
        )

    def trends(self, **body: Any) -> dict[str, Any]:
        response = self.post(body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture(scope="module")
def insights(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[Insights]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("insights")
    # Settings checked on every request: a test's webhooks reach the routes at once.
    settings = platform_settings(
        f"sqlite:///{folder / 'platform.db'}",
        folder / "lake",
        gateway={"config_check_seconds": 0},
    )
    with make_models(folder) as models, running_gateway(settings) as gateway:
        to_bronze(models.lake, world(sdk))
        models.run()
        yield Insights(gateway, gateway.admin)


MARCH = {"from": "2026-03-27", "to": "2026-03-30", "timezone": PARIS}


def values(answer: dict[str, Any], index: int = 0) -> list[Any]:
    return [answer["lines"][index]["values"], answer["lines"][index]["total"]]


def test_daily_counts_fall_on_the_day_of_the_timezone(insights: Insights) -> None:
    paris = insights.trends(series=[{"event": SIGNUP}], **MARCH)
    utc = insights.trends(series=[{"event": SIGNUP}], **{**MARCH, "timezone": "UTC"})

    assert paris["buckets"] == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert values(paris) == [[1, 3, 3, 1], 8]
    assert values(utc) == [[2, 2, 4, 0], 8]


def test_unique_people_are_counted_once_over_the_period_not_summed(insights: Insights) -> None:
    answer = insights.trends(series=[{"event": SIGNUP, "math": "unique_users"}], **MARCH)

    # ann, ben, cat, dan, eve: ann and ben signed up on two days, cat on two.
    assert values(answer) == [[1, 3, 3, 1], 5]


def test_the_hour_the_clocks_skip_is_no_bucket(insights: Insights) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}],
        interval="hour",
        timezone=PARIS,
        **{"from": "2026-03-29T00:00:00+01:00", "to": "2026-03-29T05:00:00+02:00"},
    )

    assert answer["buckets"] == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]
    assert values(answer) == [[0, 1, 1, 0], 2]


def test_the_hour_the_clocks_repeat_is_two_buckets(insights: Insights) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}],
        interval="hour",
        timezone=PARIS,
        **{"from": "2026-10-25", "to": "2026-10-25"},
    )

    assert len(answer["buckets"]) == 25
    repeated = [i for i, label in enumerate(answer["buckets"]) if label[11:13] == "02"]
    assert [answer["buckets"][i] for i in repeated] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    assert [answer["lines"][0]["values"][i] for i in repeated] == [1, 1]
    assert answer["lines"][0]["total"] == 2


def test_weeks_start_on_monday_and_months_on_the_first(insights: Insights) -> None:
    body = {"series": [{"event": SIGNUP}], "timezone": PARIS}
    weeks = insights.trends(**body, interval="week", **{"from": "2026-03-27", "to": "2026-04-05"})
    months = insights.trends(**body, interval="month", **{"from": "2026-03-01", "to": "2026-10-31"})

    assert weeks["buckets"] == ["2026-03-23", "2026-03-30"]
    assert values(weeks) == [[7, 1], 8]  # 27th to 29th in the first week, the 30th in the next
    assert months["buckets"][0] == "2026-03-01" and months["buckets"][-1] == "2026-10-01"
    assert months["lines"][0]["values"][0] == 8 and months["lines"][0]["values"][-1] == 2


def test_every_event_and_page_views_by_their_own_name(insights: Insights) -> None:
    answer = insights.trends(
        series=[
            {},
            {"event": "$pageview"},
            {"event": "$pageview", "filters": [{"property": "$pathname", "value": "/pricing"}]},
            {"event": [SIGNUP, ORDER]},
        ],
        **MARCH,
    )

    assert [line["values"] for line in answer["lines"]] == [
        [1, 7, 6, 1],  # every event: signups, orders and page views
        [0, 1, 2, 0],
        [0, 1, 1, 0],
        [1, 6, 4, 1],
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"property": "plan", "value": "free"}, [0, 2, 1, 0]),
        ({"property": "plan", "operator": "!=", "value": "free"}, [1, 1, 2, 1]),  # eve has none
        ({"property": "plan", "operator": "in", "value": ["pro", "team"]}, [1, 0, 2, 1]),
        ({"property": "plan", "operator": "not in", "value": ["pro", "team"]}, [0, 3, 1, 0]),
        ({"property": "plan", "operator": "contains", "value": "RE"}, [0, 2, 1, 0]),
        ({"property": "plan", "operator": "is set"}, [1, 2, 3, 1]),
        ({"property": "plan", "operator": "is not set"}, [0, 1, 0, 0]),
    ],
)
def test_event_property_filters(
    insights: Insights, condition: dict[str, Any], expected: list[int]
) -> None:
    answer = insights.trends(series=[{"event": SIGNUP}], filters=[condition], **MARCH)

    assert answer["lines"][0]["values"] == expected


def test_numeric_comparisons_read_numbers(insights: Insights) -> None:
    above = {"property": "revenue", "operator": ">", "value": 15}
    below = {"property": "revenue", "operator": "<", "value": 15}
    exactly = {"property": "revenue", "value": 20}
    answer = insights.trends(
        series=[
            {"event": ORDER, "filters": [above]},
            {"event": ORDER, "filters": [below]},
            {"event": ORDER, "filters": [exactly]},
        ],
        **MARCH,
    )

    assert [line["values"] for line in answer["lines"]] == [
        [0, 2, 1, 0],
        [0, 1, 0, 0],
        [0, 1, 0, 0],
    ]


@pytest.mark.parametrize(
    ("math", "per_day", "whole"),
    [
        ("sum", [None, 60, 40, None], 100),
        ("avg", [None, 20, 40, None], 25),
        ("min", [None, 10, 40, None], 10),
        ("max", [None, 30, 40, None], 40),
        ("median", [None, 20, 40, None], 25),
        ("per_user_avg", [None, 30, 40, None], 100 / 3),
    ],
)
def test_statistics_of_a_numeric_property(
    insights: Insights, math: str, per_day: list[Any], whole: float
) -> None:
    answer = insights.trends(
        series=[{"event": ORDER, "math": math, "property": "revenue"}], **MARCH
    )

    assert answer["lines"][0]["values"] == per_day
    assert answer["lines"][0]["total"] == pytest.approx(whole)


def test_events_per_person(insights: Insights) -> None:
    answer = insights.trends(series=[{"event": ORDER, "math": "per_user_avg"}], **MARCH)

    assert values(answer) == [[None, 1.5, 1, None], pytest.approx(4 / 3)]


def test_a_breakdown_keeps_the_most_frequent_values_and_groups_the_rest(
    insights: Insights,
) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}, {"event": SIGNUP, "math": "unique_users"}],
        breakdown={"property": "plan", "limit": 2},
        **MARCH,
    )

    lines = [
        (line["series"], line["breakdown"], line["breakdown_value"], line["values"], line["total"])
        for line in answer["lines"]
    ]
    # free and pro 3 times each (the tie in name order), then team once and eve without a plan.
    assert lines == [
        ("A", "value", "free", [0, 2, 1, 0], 3),
        ("A", "value", "pro", [1, 0, 1, 1], 3),
        ("A", "other", None, [0, 1, 1, 0], 2),
        ("B", "value", "free", [0, 2, 1, 0], 2),  # ben twice, cat once
        ("B", "value", "pro", [1, 0, 1, 1], 2),  # ann twice, cat once
        ("B", "other", None, [0, 1, 1, 0], 2),
    ]
    assert answer["chart"][1] == {
        "bucket": "2026-03-28",
        "A: free": 2,
        "A: pro": 0,
        "A: (other)": 1,
        "B: free": 2,
        "B: pro": 0,
        "B: (other)": 1,
    }


def test_events_without_the_property_are_a_line_of_their_own_when_frequent(
    insights: Insights,
) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}], breakdown={"property": "plan", "limit": 3}, **MARCH
    )

    assert [(line["breakdown"], line["breakdown_value"]) for line in answer["lines"]] == [
        ("value", "free"),
        ("value", "pro"),
        ("none", None),  # eve's, tied with team's one and first as nulls come first
        ("other", None),
    ]


def test_a_formula_between_series(insights: Insights) -> None:
    answer = insights.trends(
        series=[{"event": ORDER}, {"event": ORDER, "math": "unique_users"}],
        formula="A / B",
        **MARCH,
    )

    assert answer["formula"]["formula"] == "A / B"
    assert answer["formula"]["lines"] == [
        {"values": [None, 1.5, 1.0, None], "total": pytest.approx(4 / 3)}
    ]


def test_the_period_before_for_comparison(insights: Insights) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}],
        compare=True,
        timezone=PARIS,
        **{"from": "2026-03-29", "to": "2026-03-30"},
    )

    line = answer["lines"][0]
    assert (line["values"], line["total"]) == ([3, 1], 4)
    assert line["previous"]["buckets"] == ["2026-03-27", "2026-03-28"]
    assert answer["chart"] == [
        {"bucket": "2026-03-29", "A": 3, "A (previous)": 1},
        {"bucket": "2026-03-30", "A": 1, "A (previous)": 3},
    ]
    assert (line["previous"]["values"], line["previous"]["total"]) == ([1, 3], 4)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"series": []}, "body.series"),
        ({"series": [{"event": SIGNUP, "math": "sum"}]}, "body.series.0"),
        ({"series": [{"event": SIGNUP, "math": "total", "property": "plan"}]}, "body.series.0"),
        ({"series": [{"math": "mode"}]}, "body.series.0.math"),
        (
            {"series": [{}], "filters": [{"property": "plan", "operator": ">", "value": "a"}]},
            "body.filters.0",
        ),
        (
            {"series": [{}], "filters": [{"property": "plan", "operator": "in", "value": "a"}]},
            "body.filters.0",
        ),
        (
            {"series": [{}], "filters": [{"property": 'a"b', "value": "a"}]},
            "body.filters.0.property",
        ),
        ({"series": [{}], "interval": "year"}, "body.interval"),
        ({"series": [{}], "timezone": "Mars/Olympus"}, "body.timezone"),
        ({"series": [{}], "from": "2026-03-30", "to": "2026-03-27"}, "body.to"),
        ({"series": [{}], "from": "last week"}, "body.from"),
        ({"series": [{}], "from": "0001-01-01"}, "body.from"),
        (
            {"series": [{}], "interval": "minute", "from": "2026-01-01", "to": "2026-03-01"},
            "body.interval",
        ),
        ({"series": [{}], "formula": "A / C"}, "body.formula"),
        ({"series": [{}], "formula": "__import__('os')"}, "body.formula"),
        ({"series": [{}], "breakdown": {"property": "plan", "limit": 51}}, "body.breakdown.limit"),
        ({"series": [{}], "colour": "red"}, "body.colour"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(
    insights: Insights, body: dict[str, Any], field: str
) -> None:
    response = insights.post(body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_trends_need_a_credential_and_the_products_read_permission(insights: Insights) -> None:
    body = {"series": [{"event": SIGNUP}], **MARCH}
    stranger = insights.gateway.headers_for("stranger", ["auditor"])

    assert insights.post(body, headers={}).status_code == 401
    assert insights.post(body, headers=stranger).status_code == 403
    viewer = insights.gateway.headers_for("vic", ["viewer"])
    assert insights.post(body, headers=viewer).status_code == 200


def post(insights: Insights, route: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{insights.gateway.url}/web/insights/{route}", json=body, headers=insights.admin
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


PRICING = {"event": "$pageview", "filters": [{"property": "$pathname", "value": "/pricing"}]}


def test_paths_after_a_page(insights: Insights) -> None:
    # ann: /pricing, then two orders and a signup; dan: /pricing, then nothing.
    answer = post(insights, "paths", start=PRICING, steps=3, **MARCH)

    assert answer["people"] == 2
    assert answer["steps"] == [
        {"step": 1, "people": 1, "dropped": 1},
        {"step": 2, "people": 1, "dropped": 0},
        {"step": 3, "people": 1, "dropped": 0},
    ]
    assert answer["edges"] == [
        {"step": 1, "source": None, "target": ORDER, "people": 1},
        {"step": 2, "source": ORDER, "target": ORDER, "people": 1},
        {"step": 3, "source": ORDER, "target": SIGNUP, "people": 1},
    ]
    assert answer["sequences"] == [{"path": [ORDER, ORDER, SIGNUP], "people": 1}]
    assert answer["sankey"][:2] == [
        {"source": "0. start", "target": f"1. {ORDER}", "people": 1},
        {"source": f"1. {ORDER}", "target": f"2. {ORDER}", "people": 1},
    ]


def test_paths_before_a_page_and_steps_chosen_by_filters(insights: Insights) -> None:
    before = post(insights, "paths", start=PRICING, direction="before", steps=2, **MARCH)
    orders_only = post(
        insights,
        "paths",
        start=PRICING,
        steps=2,
        filters=[{"property": "revenue", "operator": ">", "value": 15}],
        **MARCH,
    )

    # Both signed up before they looked at the pricing page.
    assert before["steps"] == [
        {"step": 1, "people": 2, "dropped": 0},
        {"step": 2, "people": 0, "dropped": 2},
    ]
    assert before["sequences"] == [{"path": [SIGNUP], "people": 2}]
    # Of ann's orders only the one of 30 is over 15.
    assert orders_only["sequences"] == [{"path": [ORDER], "people": 1}]


def test_stickiness_counts_the_days_each_person_did_it(insights: Insights) -> None:
    answer = post(insights, "stickiness", events={"event": SIGNUP}, **MARCH)

    # ann (27th, 29th), ben (28th, 29th), cat (28th, 30th) on two days; dan and eve on one.
    assert answer["days_in_period"] == 4
    assert answer["people"] == 5
    assert answer["days"] == [
        {"days": 1, "people": 2},
        {"days": 2, "people": 3},
        {"days": 3, "people": 0},
        {"days": 4, "people": 0},
    ]


def cohort(
    insights: Insights, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return httpx.post(
        f"{insights.gateway.url}/web/insights/cohorts",
        json=body,
        headers=insights.admin if headers is None else headers,
    )


@pytest.fixture(scope="module")
def repeat_signups(insights: Insights) -> str:
    """ann, ben and cat at the end of March's period: two signups in the 7 days before."""
    analyst = insights.gateway.headers_for("ada", ["analyst"])
    made = cohort(
        insights,
        analyst,
        name="Signed up twice",
        performed=[{"event": SIGNUP, "at_least": 2, "in_last_days": 7}],
    )
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "ada"
    return str(made.json()["id"])


def test_a_cohort_filters_a_trend(insights: Insights, repeat_signups: str) -> None:
    everyone = insights.trends(series=[{"event": "$pageview"}], **MARCH)
    repeaters = insights.trends(series=[{"event": "$pageview"}], cohort=repeat_signups, **MARCH)

    assert everyone["lines"][0]["values"] == [0, 1, 2, 0]
    assert repeaters["lines"][0]["values"] == [0, 1, 1, 0]  # dan is not in it


def test_a_cohorts_size_at_the_end_of_each_day(insights: Insights) -> None:
    made = cohort(
        insights, name="Signed up within a day", performed=[{"event": SIGNUP, "in_last_days": 1}]
    )
    cohort_id = made.json()["id"]

    answer = post(insights, f"cohorts/{cohort_id}/sizes", **MARCH)

    # The 24 hours before each Paris midnight: ann; ben, cat, eve; dan, ann, ben; cat.
    assert answer["buckets"] == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert answer["people"] == [1, 3, 3, 1]
    assert answer["rows"][1] == {"bucket": "2026-03-28", "people": 3}


def test_retention_of_signups_by_orders_for_everyone_and_by_cohort(
    insights: Insights, repeat_signups: str
) -> None:
    body = {
        "start": {"event": SIGNUP},
        "returning": {"event": ORDER},
        "interval": "day",
        "periods": 2,
        **MARCH,
    }

    everyone = post(insights, "retention", **body)
    by_cohort = post(insights, "retention", cohorts=[repeat_signups], **body)

    # First signups: ann on the 27th, ben, cat and eve on the 28th, dan on the 29th; orders: ann
    # the next day, ben the same day, cat the next day.
    assert everyone["groups"][0]["rows"] == [
        {"start": "2026-03-27", "people": 1, "returned": [0, 1, 0]},
        {"start": "2026-03-28", "people": 3, "returned": [1, 1, 0]},
        {"start": "2026-03-29", "people": 1, "returned": [0, 0, 0]},
        {"start": "2026-03-30", "people": 0, "returned": [0, 0, 0]},
    ]
    (group,) = by_cohort["groups"]
    assert (group["cohort"], group["name"]) == (repeat_signups, "Signed up twice")
    assert [(row["people"], row["returned"]) for row in group["rows"]] == [
        (1, [0, 1, 0]),
        (2, [1, 1, 0]),
        (0, [0, 0, 0]),
        (0, [0, 0, 0]),
    ]


def test_cohorts_are_listed_and_saving_one_needs_query_run(
    insights: Insights, repeat_signups: str
) -> None:
    viewer = insights.gateway.headers_for("vin", ["viewer"])
    body = {"name": "x", "performed": [{"event": SIGNUP}]}

    listed = httpx.get(f"{insights.gateway.url}/web/insights/cohorts", headers=viewer).json()

    assert repeat_signups in [c["id"] for c in listed["cohorts"]]
    assert cohort(insights, viewer, **body).status_code == 403
    empty = cohort(insights, name="nothing")
    assert empty.status_code == 422 and empty.json()["field"] == "body"


def test_a_cohort_of_segments_needs_the_segmentation_read_permission(insights: Insights) -> None:
    insights.gateway.services.auth.roles.create(
        "web-querier", ["query:run", "product:web-user-analytics:read"], "test"
    )
    web_only = insights.gateway.headers_for("wen", ["web-querier"])

    refused = cohort(insights, web_only, name="VIPs", segments=["vip"])
    allowed = cohort(insights, name="VIPs", segments=["vip"])

    assert refused.status_code == 403
    assert "product:user-segmentation:read" in refused.json()["detail"]
    assert allowed.status_code == 201


def test_an_unknown_cohort_is_not_found_naming_it(insights: Insights) -> None:
    response = insights.post({"series": [{}], "cohort": "0123456789ab", **MARCH})

    assert response.status_code == 404
    assert "0123456789ab" in response.json()["detail"]


# Trend alerts: `Signup Completed` per Paris day is 1, 3, 3, 1 from 03-27 to 03-30; an alert
# "below 2" fires on the 27th, resolves on the 28th, stays quiet on the 29th and fires again on
# the 30th, snoozed by then. Each check runs 3 minutes past a Paris midnight.
SECRET = "a-webhook-secret-of-some-length"


@dataclass
class Receiver:
    """A webhook endpoint on loopback answering 500 to the first two tries of each delivery."""

    url: str = ""
    tries: dict[str, int] = field(default_factory=dict)
    accepted: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            delivery = self.headers["X-Dataplatform-Delivery"]
            found.tries[delivery] = found.tries.get(delivery, 0) + 1
            if found.tries[delivery] <= 2:
                self.send_response(500)
                self.end_headers()
                return
            stamp = self.headers.get("X-Dataplatform-Timestamp", "")
            signed = self.headers.get("X-Dataplatform-Signature") == signature_of(
                SECRET, stamp, body
            )
            found.accepted.append({"body": json.loads(body), "signed": signed})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()


def configure_webhooks(insights: Insights, webhooks: list[dict[str, Any]]) -> None:
    changed = httpx.put(
        f"{insights.gateway.url}/admin/products/web-user-analytics/config",
        json={"values": {"alert_webhooks": webhooks, "alert_backoff_seconds": 0.01}},
        headers=insights.admin,
    )
    assert changed.status_code == 200, changed.text


def run_alert_checks(insights: Insights, now: str) -> dict[str, Any]:
    """The job's run at `now`, under the settings in force."""
    services = insights.gateway.services
    context = JobContext.extending(
        ProductConfigs(services.store).context_of(product), lake=services.lake
    )
    source = web_events(context)
    read = job_read(TableSnapshots(services.lake), source)
    return check_trend_alerts(context.settings, services.lake, read, source, at(now))


SIGNUPS_BELOW_2 = {
    "name": "Signups per day below 2",
    "trend": {"series": [{"event": SIGNUP}], "interval": "day", "timezone": PARIS},
    "condition": "below",
    "threshold": 2,
    "destinations": ["growth"],
}


def test_a_trend_alert_sends_each_firing_and_resolution_once_signed(
    insights: Insights, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROWTH_SECRET", SECRET)
    configure_webhooks(
        insights,
        [
            {"name": "growth", "url": receiver.url, "secret_env": "GROWTH_SECRET"},
            {"name": "chat", "url": receiver.url, "format": "slack"},
        ],
    )
    url = f"{insights.gateway.url}/web/insights/alerts"
    body = {**SIGNUPS_BELOW_2, "destinations": ["growth", "chat"]}
    created = httpx.post(url, json=body, headers=insights.admin)
    assert created.status_code == 201, created.text
    alert = created.json()
    # Yesterday (in Paris) had no signup: the alert would fire now.
    assert (alert["now"]["value"], alert["now"]["firing"]) == (0, True)

    summaries = [
        run_alert_checks(insights, "03-27T23:03"),  # the 27th: 1, firing
        run_alert_checks(insights, "03-27T23:04"),  # checked already
        run_alert_checks(insights, "03-28T23:03"),  # the 28th: 3, resolved
        run_alert_checks(insights, "03-29T22:03"),  # the 29th (UTC+2 now): 3, quiet
    ]
    snoozed = httpx.post(
        f"{url}/{alert['id']}/snooze",
        json={"until": "2027-01-01T00:00:00Z"},
        headers=insights.admin,
    )
    assert snoozed.status_code == 200, snoozed.text
    summaries.append(run_alert_checks(insights, "03-30T22:03"))  # the 30th: 1, firing, snoozed

    assert [(s["checked"], s["firing"], s["deliveries"]) for s in summaries] == [
        (1, 1, {"delivered": 2}),
        (0, 0, {}),
        (1, 0, {"delivered": 2}),
        (1, 0, {}),
        (1, 1, {"silenced": 2}),
    ]
    # Each news once to each webhook, after two refusals; the snoozed one never sent.
    generic = [a for a in receiver.accepted if "event" in a["body"]]
    slack = [a["body"]["text"] for a in receiver.accepted if "text" in a["body"]]
    assert [(a["body"]["event"], a["body"]["value"], a["signed"]) for a in generic] == [
        ("firing", 1.0, True),
        ("resolved", 3.0, True),
    ]
    assert generic[0]["body"]["bucket_start"] == "2026-03-26T23:00:00+00:00"
    assert len(slack) == 2 and slack[0].startswith(":rotating_light: Trend alert")
    assert (
        "Signups per day below 2" in slack[0]
        and ": 1 in the day from 2026-03-27 00:00 (Europe/Paris)" in slack[0]
    )
    assert slack[1].startswith(":white_check_mark: Resolved") and ": 3 in" in slack[1]
    assert sorted(receiver.tries.values()) == [3, 3, 3, 3]

    detail = httpx.get(f"{url}/{alert['id']}", headers=insights.admin).json()
    assert [c["value"] for c in detail["checks"]] == [1, 3, 3, 1]  # newest first
    assert sorted(
        (d["bucket_start"][:10], d["destination"], d["status"], d["attempts"])
        for d in detail["deliveries"]
    ) == [
        ("2026-03-26", "chat", "delivered", 3),  # firing
        ("2026-03-26", "growth", "delivered", 3),
        ("2026-03-27", "chat", "delivered", 3),  # resolved
        ("2026-03-27", "growth", "delivered", 3),
        ("2026-03-29", "chat", "silenced", 0),  # firing, snoozed
        ("2026-03-29", "growth", "silenced", 0),
    ]
    deleted = httpx.delete(f"{url}/{alert['id']}", headers=insights.admin)
    assert deleted.status_code == 204
    assert httpx.get(f"{url}/{alert['id']}", headers=insights.admin).status_code == 404


def test_a_runs_cost_follows_the_alerts_not_the_history_of_checks(
    insights: Insights, tmp_path: Path
) -> None:
    """The job reads only the checks since the bucket before the due one: 300 days of old checks
    whose file is unreadable does not stop a run that finds its alert checked already."""
    configure_webhooks(insights, [{"name": "growth", "url": "http://127.0.0.1:9/hook"}])
    created = httpx.post(
        f"{insights.gateway.url}/web/insights/alerts",
        json={**SIGNUPS_BELOW_2, "name": "Checked every day"},
        headers=insights.admin,
    )
    assert created.status_code == 201, created.text
    services = insights.gateway.services
    context = JobContext.extending(
        ProductConfigs(services.store).context_of(product), lake=services.lake
    )
    source = web_events(context)
    tables = source.alerts
    assert tables is not None
    lake = Lakehouse(tmp_path / "lake")
    rules = services.lake.read(tables.rules)
    lake.create(tables.rules, rules.schema)
    lake.append(tables.rules, rules.filter(pc.field("alert_id") == created.json()["id"]))

    def checks(days: list[datetime]) -> pa.Table:
        rows = [
            {
                "alert_id": created.json()["id"],
                "bucket_start": day,
                "bucket_end": day,
                "checked_at": day,
                "value": 5.0,
                "firing": False,
                "error": None,
            }
            for day in days
        ]
        return pa.Table.from_pylist(rows, TREND_ALERT_CHECKS_SCHEMA)

    lake.create(tables.checks, TREND_ALERT_CHECKS_SCHEMA)
    lake.append(tables.checks, checks([at("01-01T23:00") + timedelta(days=d) for d in range(300)]))
    (old_file,) = lake.table(tables.checks).file_uris()
    lake.append(tables.checks, checks([at("12-01T23:00")]))  # the Paris day 2026-12-02
    Path(old_file.removeprefix("file://")).write_bytes(b"not parquet")

    read = job_read(TableSnapshots(lake), source)
    summary = check_trend_alerts(context.settings, lake, read, source, at("12-02T23:03"))
    assert (summary["alerts"], summary["checked"]) == (1, 0)
    with pytest.raises(pa.ArrowInvalid, match="Parquet"):  # read when it has to be
        lake.read(tables.checks)


def test_a_trend_alert_is_refused_naming_what_is_wrong(insights: Insights) -> None:
    configure_webhooks(insights, [{"name": "growth", "url": "http://127.0.0.1:9/hook"}])
    url = f"{insights.gateway.url}/web/insights/alerts"

    def refused(body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, str]:
        response = httpx.post(url, json=body, headers=headers or insights.admin)
        return response.status_code, response.text

    status, text = refused({**SIGNUPS_BELOW_2, "destinations": ["grwth"]})
    assert status == 422 and "body.destinations[0]" in text and "growth" in text, text
    status, text = refused({**SIGNUPS_BELOW_2, "line": "B"})
    assert status == 422 and "`line`" in text, text
    status, text = refused(
        {**SIGNUPS_BELOW_2, "trend": {**SIGNUPS_BELOW_2["trend"], "cohort": "0123456789ab"}}
    )
    assert status == 404 and "0123456789ab" in text, text
    viewer = insights.gateway.headers_for("val", ["viewer"])
    assert refused(SIGNUPS_BELOW_2, viewer)[0] == 403
    listed = httpx.get(url, headers=viewer)
    assert listed.status_code == 200 and "alerts" in listed.json()


def test_a_segment_filters_a_trend_alone_or_beside_a_cohort(
    insights: Insights, repeat_signups: str
) -> None:
    # user-segmentation's published tables, as its models would write them: person P1 (ann's
    # and cat's browsers) is in segment `vip`; ben is in `other`.
    lake = insights.gateway.services.lake
    graph = pa.table(
        {
            "person_id": ["P1", "P1", "P2"],
            "identifier": ["ann", "cat", "ben"],
            "kind": ["anonymous"] * 3,
        }
    )
    members = pa.table({"segment_id": ["vip", "other"], "person_id": ["P1", "P2"]})
    for name, rows in (("identity_graph", graph), ("segment_membership", members)):
        table = f"user_segmentation.gold.{name}"
        lake.create(table, rows.schema)
        lake.append(table, rows)

    vip = insights.trends(series=[{"event": SIGNUP}], segment="vip", **MARCH)
    # ann on the 27th and 29th, cat on the 28th and (Paris) 30th.
    assert values(vip) == [[1, 1, 1, 1], 4]
    # The cohort of people with 2+ signups (ann, ben, cat), and in `vip` too: ann and cat.
    both = insights.trends(
        series=[{"event": SIGNUP, "math": "unique_users"}],
        segment="vip",
        cohort=repeat_signups,
        **MARCH,
    )
    assert values(both) == [[1, 1, 1, 1], 2]
    nobody = insights.trends(series=[{"event": SIGNUP}], segment="nobody-here", **MARCH)
    assert values(nobody) == [[0, 0, 0, 0], 0]
    insights.gateway.services.auth.roles.create(
        "web-trends-only", ["product:web-user-analytics:read"], "test"
    )
    web_only = insights.gateway.headers_for("wes", ["web-trends-only"])
    refused = insights.post(
        {"series": [{"event": SIGNUP}], "segment": "vip", **MARCH}, headers=web_only
    )
    assert refused.status_code == 403, refused.text


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"operator": "=", "value": "gold"}, [[1, 1, 1, 1], 4]),  # ann, cat (ann's latest)
        ({"operator": "!=", "value": "gold"}, [[0, 2, 2, 0], 4]),  # ben, eve, dan
        ({"operator": "is not set"}, [[0, 1, 1, 0], 2]),  # dan, eve
        ({"operator": "in", "value": ["silver"]}, [[0, 1, 1, 0], 2]),  # ben
    ],
)
def test_person_property_filters_read_each_persons_latest_trait(
    insights: Insights, condition: dict[str, Any], expected: list[Any]
) -> None:
    answer = insights.trends(
        series=[{"event": SIGNUP}],
        filters=[{"property": "tier", "type": "person", **condition}],
        **MARCH,
    )
    assert values(answer) == expected


def test_person_property_numbers_and_event_filters_together(insights: Insights) -> None:
    def signups(*filters: dict[str, Any]) -> list[Any]:
        return values(
            insights.trends(series=[{"event": SIGNUP, "filters": list(filters)}], **MARCH)
        )

    big = {"property": "employees", "type": "person", "operator": ">", "value": 10}
    small = {"property": "employees", "type": "person", "operator": "<", "value": 10}
    assert signups(big) == [[0, 1, 0, 1], 2]  # cat
    assert signups(small) == [[1, 0, 1, 0], 2]  # ann
    # ann's signups carry plan pro; the event's own `plan` beside the person's `employees`.
    assert signups(small, {"property": "plan", "value": "pro"}) == [[1, 0, 1, 0], 2]
    assert signups(big, {"property": "plan", "value": "free"}) == [[0, 1, 0, 0], 1]


def test_a_late_trait_older_than_the_one_held_does_not_replace_it(
    make_models, sdk, to_bronze, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with make_models(tmp_path) as models:
        to_bronze(models.lake, [sdk.identify("ann", "ann", at("03-28T12:00"), {"tier": "gold"})])
        models.run()
        late = sdk.identify("ann", "ann", at("03-28T09:00"), {"tier": "silver", "seats": 3})
        to_bronze(models.lake, [late])
        models.run()
        after_late = models.rows("silver.person_properties", order_by="property")
        to_bronze(models.lake, [sdk.identify("ann", "ann", at("03-29T09:00"), {"tier": "free"})])
        models.run()
        after_newer = models.rows("silver.person_properties", order_by="property")

    assert [(r["property"], r["value"]) for r in after_late] == [("seats", "3"), ("tier", "gold")]
    assert [(r["property"], r["value"]) for r in after_newer] == [("seats", "3"), ("tier", "free")]


def test_a_cohort_of_a_property_people_have(insights: Insights, repeat_signups: str) -> None:
    gold = cohort(insights, name="Gold tier", has=[{"property": "tier", "value": "gold"}])
    assert gold.status_code == 201, gold.text
    listed = httpx.get(f"{insights.gateway.url}/web/insights/cohorts", headers=insights.admin)
    saved = next(c for c in listed.json()["cohorts"] if c["id"] == gold.json()["id"])
    assert saved["has"] == [{"property": "tier", "type": "event", "operator": "=", "value": "gold"}]

    answer = insights.trends(series=[{"event": SIGNUP}], cohort=gold.json()["id"], **MARCH)
    assert values(answer) == [[1, 1, 1, 1], 4]  # ann and cat
    sizes = httpx.post(
        f"{insights.gateway.url}/web/insights/cohorts/{gold.json()['id']}/sizes",
        json={"from": "2026-03-27", "to": "2026-03-28", "interval": "day"},
        headers=insights.admin,
    )
    assert sizes.status_code == 200, sizes.text
    assert [row["people"] for row in sizes.json()["rows"]] == [2, 2]  # today's traits, each day
    empty = cohort(insights, name="Nothing")
    assert empty.status_code == 422 and "`has` property" in empty.text
