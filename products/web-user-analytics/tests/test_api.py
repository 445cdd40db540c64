"""The /web API through a real gateway on loopback, over a small shop day whose every metric is
worked out by hand below.

2026-11-20 (UTC, the product's reporting timezone):
- alice (Chrome, Windows) from Google search: / 10:00:00, /products/watch 10:00:30,
  /cart 10:01:30, /checkout 10:02:00, a 50.00 purchase 10:02:20, then signs in as `alice`.
  One session of 140 s, 4 page views, engaged. (Her phone, signed in, visits on 11-21.)
- bob (iPhone) from a Facebook campaign: / 11:00:00 only. Bounced.
- carol (Firefox, Linux), direct, the shop backwards: /checkout 12:00, /cart 12:01,
  /products/shoe 12:02, / 12:03. 180 s, engaged.
- erin (iPad, PostHog) from the newsletter: / 13:00:00, /products/bag 13:00:08. 8 s, 2 pages:
  engaged.
- Googlebot: / and /products/watch. Left out of everything.
2026-11-02: dave and frank enter the checkout funnel and reach the cart; frank checks out and
buys 13 days later (inside the 14-day window), dave 15 days later (outside).
Now: visitors seen 1 and 3 minutes ago count as realtime, one seen 10 minutes ago and a bot do not.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

DAY = {"from": "2026-11-20", "to": "2026-11-20"}


def at(clock: str, day: int = 20) -> datetime:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hours, minutes, seconds, tzinfo=UTC)


def shop(sdk) -> list[Any]:  # type: ignore[no-untyped-def]
    newsletter = {"source": "newsletter", "medium": "email", "campaign": "weekly"}
    now = datetime.now(UTC)
    return [
        sdk.page(
            "alice-laptop",
            at("10:00:00"),
            "/",
            referrer="https://www.google.com/",
            message_id="alice-1",
        ),
        sdk.page("alice-laptop", at("10:00:30"), "/products/watch"),
        sdk.page("alice-laptop", at("10:01:30"), "/cart"),
        sdk.page("alice-laptop", at("10:02:00"), "/checkout"),
        sdk.track(
            "alice-laptop", at("10:02:20"), "purchase", "/checkout", properties={"revenue": 50.0}
        ),
        sdk.identify("alice-laptop", "alice", at("10:02:21")),
        sdk.page(
            "alice-phone",
            at("09:00:00", day=21),
            "/",
            user_agent=sdk.SAFARI_IPHONE,
            user_id="alice",
            message_id="alice-2",
        ),
        sdk.page(
            "bob-phone",
            at("11:00:00"),
            "/",
            referrer="https://www.facebook.com/",
            campaign={"source": "facebook", "medium": "social", "name": "winter_sale"},
            user_agent=sdk.SAFARI_IPHONE,
            message_id="bob-1",
        ),
        sdk.page(
            "carol-laptop",
            at("12:00:00"),
            "/checkout",
            user_agent=sdk.FIREFOX_LINUX,
            message_id="carol-1",
        ),
        sdk.page("carol-laptop", at("12:01:00"), "/cart", user_agent=sdk.FIREFOX_LINUX),
        sdk.page("carol-laptop", at("12:02:00"), "/products/shoe", user_agent=sdk.FIREFOX_LINUX),
        sdk.page("carol-laptop", at("12:03:00"), "/", user_agent=sdk.FIREFOX_LINUX),
        sdk.posthog_pageview(
            "erin-tablet",
            at("13:00:00"),
            "/",
            utm=newsletter,
            user_agent=sdk.SAFARI_IPAD,
            message_id="erin-1",
        ),
        sdk.posthog_pageview(
            "erin-tablet",
            at("13:00:08"),
            "/products/bag",
            utm=newsletter,
            user_agent=sdk.SAFARI_IPAD,
        ),
        sdk.page("crawler", at("10:30:00"), "/", user_agent=sdk.GOOGLEBOT),
        sdk.page("crawler", at("10:30:10"), "/products/watch", user_agent=sdk.GOOGLEBOT),
        sdk.page("dave-laptop", at("10:00:00", day=2), "/"),
        sdk.page("dave-laptop", at("10:01:00", day=2), "/products/shoe"),
        sdk.page("dave-laptop", at("10:02:00", day=2), "/cart"),
        sdk.page("dave-laptop", at("10:00:00", day=17), "/checkout"),
        sdk.track("dave-laptop", at("10:01:00", day=17), "purchase", "/checkout"),
        sdk.page("frank-laptop", at("09:00:00", day=2), "/"),
        sdk.page("frank-laptop", at("09:01:00", day=2), "/products/bag"),
        sdk.page("frank-laptop", at("09:02:00", day=2), "/cart"),
        sdk.page("frank-laptop", at("09:00:00", day=15), "/checkout"),
        sdk.track("frank-laptop", at("09:01:00", day=15), "purchase", "/checkout"),
        sdk.page("now-1", now - timedelta(minutes=1), "/"),
        sdk.page("now-3", now - timedelta(minutes=3), "/cart"),
        sdk.page("now-10", now - timedelta(minutes=10), "/"),
        sdk.page("now-bot", now - timedelta(minutes=1), "/", user_agent=sdk.GOOGLEBOT),
    ]


@dataclass
class Web:
    gateway: RunningGateway
    models: Any
    admin: dict[str, str]
    viewer: dict[str, str]

    def get(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> httpx.Response:
        return httpx.get(
            f"{self.gateway.url}/web{path}",
            params=params,
            headers=self.admin if headers is None else headers,
        )

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def web(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("api")
    settings = platform_settings(f"sqlite:///{folder / 'platform.db'}", folder / "lake")
    with make_models(folder) as models, running_gateway(settings) as gateway:
        to_bronze(models.lake, shop(sdk))
        models.run()
        yield Web(gateway, models, gateway.admin, gateway.headers_for("vera", ["viewer"]))


def test_overview_of_a_day(web: Web) -> None:
    answer = web.ok("/overview", **DAY)

    assert (answer["from"], answer["to"]) == (
        "2026-11-20T00:00:00+00:00",
        "2026-11-21T00:00:00+00:00",
    )
    assert answer["totals"] == {
        "visitors": 4,
        "sessions": 4,
        "pageviews": 11,
        "bounces": 1,
        "bounce_rate": 0.25,
        "avg_session_seconds": (140 + 0 + 180 + 8) / 4,
        "conversions": 1,
        "revenue": 50.0,
    }
    assert answer["days"] == [
        {
            "day": "2026-11-20",
            "visitors": 4,
            "sessions": 4,
            "pageviews": 11,
            "engaged_sessions": 3,
            "bounces": 1,
            "bounce_rate": 0.25,
            "avg_session_seconds": 82.0,
            "conversions": 1,
            "revenue": 50.0,
        }
    ]


def test_the_default_period_is_the_last_seven_days(web: Web) -> None:
    answer = web.ok("/overview")
    start, end = (datetime.fromisoformat(answer[key]) for key in ("from", "to"))

    assert end - start == timedelta(days=7)
    assert abs(datetime.now(UTC) - end) < timedelta(minutes=1)


SESSION = {
    "day": "2026-11-20",
    "user_id": None,
    "events": None,
    "conversions": 0,
    "revenue": 0.0,
    "referrer_host": None,
    "utm_source": None,
    "utm_medium": None,
    "utm_campaign": None,
    "is_bot": False,
}
SESSIONS_OF_THE_DAY = [
    {
        **SESSION,
        "session_id": "erin-1",
        "visitor_id": "erin-tablet",
        "started_at": "2026-11-20T13:00:00+00:00",
        "ended_at": "2026-11-20T13:00:08+00:00",
        "duration_seconds": 8.0,
        "pageviews": 2,
        "events": 2,
        "entry_page": "/",
        "exit_page": "/products/bag",
        "source": "email",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "weekly",
        "browser": "Mobile Safari",
        "os": "iOS",
        "device_type": "tablet",
        "is_engaged": True,
        "is_bounce": False,
    },
    {
        **SESSION,
        "session_id": "carol-1",
        "visitor_id": "carol-laptop",
        "started_at": "2026-11-20T12:00:00+00:00",
        "ended_at": "2026-11-20T12:03:00+00:00",
        "duration_seconds": 180.0,
        "pageviews": 4,
        "events": 4,
        "entry_page": "/checkout",
        "exit_page": "/",
        "source": "direct",
        "browser": "Firefox",
        "os": "Linux",
        "device_type": "desktop",
        "is_engaged": True,
        "is_bounce": False,
    },
    {
        **SESSION,
        "session_id": "bob-1",
        "visitor_id": "bob-phone",
        "started_at": "2026-11-20T11:00:00+00:00",
        "ended_at": "2026-11-20T11:00:00+00:00",
        "duration_seconds": 0.0,
        "pageviews": 1,
        "events": 1,
        "entry_page": "/",
        "exit_page": "/",
        "source": "social",
        "referrer_host": "facebook.com",
        "utm_source": "facebook",
        "utm_medium": "social",
        "utm_campaign": "winter_sale",
        "browser": "Mobile Safari",
        "os": "iOS",
        "device_type": "mobile",
        "is_engaged": False,
        "is_bounce": True,
    },
    {
        **SESSION,
        "session_id": "alice-1",
        "visitor_id": "alice-laptop",
        "user_id": "alice",  # signed in at the end: the whole browser is hers
        "started_at": "2026-11-20T10:00:00+00:00",
        "ended_at": "2026-11-20T10:02:20+00:00",
        "duration_seconds": 140.0,
        "pageviews": 4,
        "events": 5,
        "conversions": 1,
        "revenue": 50.0,
        "entry_page": "/",
        "exit_page": "/checkout",
        "source": "search",
        "referrer_host": "google.com",
        "browser": "Chrome",
        "os": "Windows",
        "device_type": "desktop",
        "is_engaged": True,
        "is_bounce": False,
    },
]


def test_sessions_of_a_day_newest_first(web: Web) -> None:
    answer = web.ok("/sessions", **DAY)

    assert answer["rows"] == SESSIONS_OF_THE_DAY
    assert answer["next_cursor"] is None


def test_sessions_filter_by_source_device_and_engagement(web: Web) -> None:
    def ids(**filters: str) -> list[str]:
        return [row["session_id"] for row in web.ok("/sessions", **DAY, **filters)["rows"]]

    assert ids(source="social") == ["bob-1"]
    assert ids(device_type="desktop") == ["carol-1", "alice-1"]
    assert ids(engaged="false") == ["bob-1"]
    assert ids(engaged="true", device_type="tablet") == ["erin-1"]


def test_paging_through_sessions_skips_and_repeats_nothing(web: Web) -> None:
    period = {"from": "2026-11-01", "to": "2026-11-21"}
    everything = [row["session_id"] for row in web.ok("/sessions", **period)["rows"]]
    paged: list[str] = []
    cursor = None
    while True:
        answer = web.ok("/sessions", **period, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(answer["rows"]) <= 2
        paged += [row["session_id"] for row in answer["rows"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break

    # 11-20's four, alice's phone on 11-21, dave's and frank's two sessions each.
    assert len(everything) == 9
    assert paged == everything
    # A cursor belongs to its query: another period's refuses it.
    first = web.ok("/sessions", **period, limit=2)
    refused = web.get("/sessions", **DAY, limit=2, cursor=first["next_cursor"])
    assert (refused.status_code, refused.json()["field"]) == (422, "query.cursor")


def test_a_users_sessions_span_the_browsers_they_signed_in_on(web: Web) -> None:
    answer = web.ok("/users/alice/sessions")

    assert [(row["session_id"], row["visitor_id"]) for row in answer["rows"]] == [
        ("alice-2", "alice-phone"),
        ("alice-1", "alice-laptop"),
    ]
    assert web.ok("/users/nobody/sessions") == {"rows": [], "next_cursor": None}


TOP_PAGES = [
    # path, views, visitors, entrances, exits, average time on page (exits have none)
    ("/", 4, 4, 3, 2, (30 + 8) / 2),
    ("/cart", 2, 2, 0, 0, (30 + 60) / 2),
    ("/checkout", 2, 2, 1, 1, 60.0),
    ("/products/bag", 1, 1, 0, 1, None),
    ("/products/shoe", 1, 1, 0, 0, 60.0),
    ("/products/watch", 1, 1, 0, 0, 60.0),
]
PAGE_COLUMNS = ("path", "views", "visitors", "entrances", "exits", "avg_time_on_page_seconds")


def test_top_pages_of_a_day(web: Web) -> None:
    answer = web.ok("/pages/top", **DAY)

    assert [tuple(row[c] for c in PAGE_COLUMNS) for row in answer["rows"]] == TOP_PAGES


def test_the_daily_pages_table_is_published(web: Web) -> None:
    rows = web.ok("/tables/pages", limit=1000)["rows"]
    of_the_day = sorted(
        (tuple(row[c] for c in PAGE_COLUMNS) for row in rows if row["day"] == "2026-11-20"),
        key=lambda page: (-page[1], page[0]),
    )

    assert of_the_day == TOP_PAGES


def test_sources_of_a_day(web: Web) -> None:
    rows = web.ok("/sources", **DAY)["rows"]

    assert [
        (
            r["source"],
            r["utm_source"],
            r["utm_medium"],
            r["utm_campaign"],
            r["sessions"],
            r["visitors"],
            r["bounce_rate"],
            r["conversions"],
            r["revenue"],
        )
        for r in rows
    ] == [
        ("direct", None, None, None, 1, 1, 0.0, 0, 0.0),
        ("email", "newsletter", "email", "weekly", 1, 1, 0.0, 0, 0.0),
        ("search", None, None, None, 1, 1, 0.0, 1, 50.0),
        ("social", "facebook", "social", "winter_sale", 1, 1, 1.0, 0, 0.0),
    ]


def test_devices_of_a_day(web: Web) -> None:
    rows = web.ok("/devices", **DAY)["rows"]

    assert [
        (r["device_type"], r["browser"], r["os"], r["sessions"], r["bounces"], r["conversions"])
        for r in rows
    ] == [
        ("desktop", "Chrome", "Windows", 1, 0, 1),
        ("desktop", "Firefox", "Linux", 1, 0, 0),
        ("mobile", "Mobile Safari", "iOS", 1, 1, 0),
        ("tablet", "Mobile Safari", "iOS", 1, 0, 0),
    ]


def steps_of(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (s["name"], s["people"], s["conversion_rate"], s["step_conversion_rate"], s["drop_off"])
        for s in answer["steps"]
    ]


def test_checkout_funnel_counts_only_steps_taken_in_order(web: Web) -> None:
    answer = web.ok("/funnels/checkout/results", **DAY)

    # Entered: alice, bob, carol (her / came last: nothing after it), erin. Then alice and erin
    # viewed a product, only alice went on.
    assert steps_of(answer) == [
        ("/", 4, 1.0, 1.0, 0),
        ("/products/*", 2, 0.5, 0.5, 2),
        ("/cart", 1, 0.25, 0.5, 1),
        ("/checkout", 1, 0.25, 1.0, 0),
        ("conversion", 1, 0.25, 1.0, 0),  # any of `conversion_events`: here a `purchase`
    ]
    assert answer["window_days"] == 14
    assert answer["funnel"]["origin"] == "config"


def test_a_funnel_completed_after_the_window_does_not_count(web: Web) -> None:
    # Entered on 11-02; the period reaches past 11-17, so dave's late checkout is in reach.
    answer = web.ok("/funnels/checkout/results", **{"from": "2026-11-01", "to": "2026-11-05"})

    # frank checked out after 13 days, dave after 15.
    assert [step["people"] for step in answer["steps"]] == [2, 2, 2, 1, 1]


def test_a_funnel_created_through_the_api(web: Web) -> None:
    body = {
        "name": "Cart to purchase",
        "steps": [{"page": "/cart"}, {"event": "purchase"}],
        "window_days": 1,
    }
    created = httpx.post(f"{web.gateway.url}/web/funnels", json=body, headers=web.admin)

    assert created.status_code == 201, created.text
    funnel = created.json()
    assert (
        funnel["name"],
        funnel["steps"],
        funnel["window_days"],
        funnel["origin"],
        funnel["created_by"],
    ) == (
        "Cart to purchase",
        [{"page": "/cart"}, {"event": "purchase"}],
        1,
        "api",
        "admin",
    )
    # The carts of alice and carol; alice bought.
    results = web.ok(f"/funnels/{funnel['id']}/results", **DAY)
    assert [step["people"] for step in results["steps"]] == [2, 1]
    # Lists show it after the config's, once the snapshot cache has re-read the table.
    deadline = time.monotonic() + 10
    while True:
        listed = [(f["id"], f["origin"]) for f in web.ok("/funnels")["rows"]]
        if len(listed) > 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert listed == [("checkout", "config"), (funnel["id"], "api")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No steps"}, "body.steps"),
        ({"name": "Empty", "steps": []}, "body.steps"),
        ({"name": "One step", "steps": [{"page": "/"}]}, "body.steps"),
        ({"name": "Too many", "steps": [{"page": f"/{n}"} for n in range(11)]}, "body.steps"),
        (
            {"name": "Both", "steps": [{"page": "/", "event": "purchase"}, {"page": "/cart"}]},
            "body.steps.0",
        ),
        ({"name": "Neither", "steps": [{}, {"page": "/cart"}]}, "body.steps.0"),
        ({"name": "Relative", "steps": [{"page": "/"}, {"page": "cart"}]}, "body.steps.1.page"),
        ({"name": "", "steps": [{"page": "/"}, {"page": "/cart"}]}, "body.name"),
        (
            {"name": "Window", "steps": [{"page": "/"}, {"page": "/cart"}], "window_days": 0},
            "body.window_days",
        ),
    ],
)
def test_a_funnel_that_cannot_be_created_names_the_field(
    web: Web, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(f"{web.gateway.url}/web/funnels", json=body, headers=web.admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_creating_a_funnel_needs_write_permission(web: Web) -> None:
    body = {"name": "Viewer's", "steps": [{"page": "/"}, {"page": "/cart"}]}
    response = httpx.post(f"{web.gateway.url}/web/funnels", json=body, headers=web.viewer)

    assert response.status_code == 403


def test_an_unknown_funnel_is_not_found(web: Web) -> None:
    response = web.get("/funnels/checkuot/results")

    assert response.status_code == 404
    assert "Did you mean `checkout`" in response.json()["detail"]


def test_realtime_counts_visitors_of_the_last_five_minutes(web: Web) -> None:
    answer = web.ok("/realtime")

    assert answer["visitors"] == 2  # seen 1 and 3 minutes ago; not 10 minutes ago, not the bot
    since, as_of = (datetime.fromisoformat(answer[key]) for key in ("since", "as_of"))
    assert as_of - since == timedelta(minutes=5)


def test_pii_is_masked_for_a_viewer_and_shown_to_the_admin(web: Web) -> None:
    masked = web.get("/sessions", headers=web.viewer, **DAY).json()["rows"]
    shown = web.ok("/sessions", **DAY)["rows"]

    assert [(r["visitor_id"], r["user_id"]) for r in masked] == [("***", None)] * 3 + [
        ("***", "***")
    ]
    assert [(r["visitor_id"], r["user_id"]) for r in shown] == [
        ("erin-tablet", None),
        ("carol-laptop", None),
        ("bob-phone", None),
        ("alice-laptop", "alice"),
    ]
    assert masked[3]["pageviews"] == 4  # only the tagged columns are hidden


ROUTES = [
    "/overview",
    "/sessions",
    "/pages/top",
    "/sources",
    "/devices",
    "/funnels",
    "/funnels/checkout/results",
    "/users/alice/sessions",
    "/realtime",
    "/events",
]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_needs_a_credential(web: Web, path: str) -> None:
    response = web.get(path, headers={})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


PERIOD_ROUTES = [
    "/overview",
    "/sessions",
    "/pages/top",
    "/sources",
    "/devices",
    "/events",
    "/funnels/checkout/results",
]


@pytest.mark.parametrize("path", PERIOD_ROUTES)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
        ({"from": "2026-11-21", "to": "2026-11-20"}, "query.to"),
    ],
)
def test_a_bad_date_is_refused_naming_the_field(
    web: Web, path: str, params: dict[str, str], field: str
) -> None:
    response = web.get(path, **params)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize("path", PERIOD_ROUTES)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "0001-01-01"}, "query.to"),
        ({"from": "9999-12-31"}, "query.from"),
        ({"from": "0001-01-01T00:00:00+01:00"}, "query.from"),
        ({"to": "9999-12-31T23:59:59-01:00"}, "query.to"),
    ],
)
def test_a_day_out_of_the_reporting_range_is_refused_naming_it_and_the_range(
    web: Web, path: str, params: dict[str, str], field: str
) -> None:
    response = web.get(path, **params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert "from 2000-01-01 to 2100-12-31" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/sessions", "/pages/top", "/sources", "/devices", "/funnels", "/users/alice/sessions"]
)
def test_a_bad_page_size_is_refused_naming_the_field(web: Web, path: str) -> None:
    response = web.get(path, limit=0)

    assert response.status_code == 422
    assert response.json()["field"] == "query.limit"


def test_events_sent_through_the_collector_are_answered_after_a_model_run(web: Web, sdk) -> None:  # type: ignore[no-untyped-def]
    # A day outside every other test's period: both SDKs' wire formats over HTTP, then one run of the models.
    _, key = web.gateway.services.sources.create("website", "web", "web-user-analytics")
    segment = [
        sdk.page("wire-seg", datetime(2026, 10, 10, 10, 0, tzinfo=UTC), "/")[1],
        sdk.page("wire-seg", datetime(2026, 10, 10, 10, 0, 20, tzinfo=UTC), "/cart")[1],
    ]
    posthog = [
        sdk.posthog_pageview(
            "wire-ph",
            datetime(2026, 10, 10, 11, 0, tzinfo=UTC),
            "/",
            referrer="https://www.bing.com/",
        )[1]
    ]
    sent = [
        httpx.post(f"{web.gateway.url}/v1/batch", json={"batch": segment}, auth=(key, "")),
        httpx.post(f"{web.gateway.url}/batch/", json={"api_key": key, "batch": posthog}),
    ]
    assert [response.status_code for response in sent] == [200, 200], [r.text for r in sent]
    web.models.run()
    # Silver reads PostHog's page and user agent only as the collector mapped them.
    (page_view,) = (
        row for row in web.models.rows("silver.page_views") if row["visitor_id"] == "wire-ph"
    )
    assert (page_view["url"], page_view["path"], page_view["user_agent"]) == (
        f"{sdk.SITE}/",
        "/",
        sdk.CHROME_WINDOWS,
    )

    day = {"from": "2026-10-10", "to": "2026-10-10"}
    deadline = time.monotonic() + 10  # the API's snapshots re-read a changed table within seconds
    while not (rows := web.ok("/sessions", **day)["rows"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [
        (r["visitor_id"], r["pageviews"], r["duration_seconds"], r["source"], r["is_bounce"])
        for r in rows
    ] == [
        ("wire-ph", 1, 0.0, "search", True),
        ("wire-seg", 2, 20.0, "direct", False),
    ]


def test_listing_funnels_on_a_fresh_lake_writes_nothing(tmp_path: Path) -> None:
    """A read creates no table: the config funnels are listed, and the lake holds no funnel
    definitions table afterwards (the GET used to create it)."""
    settings = platform_settings(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path / "lake")
    with running_gateway(settings) as fresh:
        response = httpx.get(f"{fresh.url}/web/funnels", headers=fresh.admin)

        assert response.status_code == 200, response.text
        assert [row["id"] for row in response.json()["rows"]] == ["checkout"]
        assert not fresh.services.lake.exists("web_user_analytics.gold.funnel_definitions")
