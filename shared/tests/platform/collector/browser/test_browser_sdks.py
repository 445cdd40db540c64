"""Each official browser SDK, unchanged, in Chromium: every event it sends is in bronze once,
with every field, the one sent as the page unloads included."""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import BrowserCollector, CollectorRequest, InFlight
    from playwright.sync_api import BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER_ID = "user-42"
TRAITS = {"email": "ada@example.com", "plan": "pro"}
ORDER = {"order_id": "o-1", "revenue": 42.5, "currency": "EUR"}
PAGE_PROPERTIES = {"section": "checkout"}
LEAVING = ("Checkout Left", {"step": "payment"})
# PostHog's own bookkeeping, which belongs in `raw`, not in the customer's properties.
POSTHOG_BOOKKEEPING = ("token", "$lib", "$lib_version", "distinct_id", "$device_id")


@dataclass(frozen=True)
class Case:
    """An SDK in one delivery mode, and what its bronze rows must say."""

    source: str
    page: str
    mode: str
    page_event: str
    # Whether only the SDK's unload path (keepalive, beacon) can deliver the last event: the
    # page navigates away at once. Without one (plain XHR / fetch) the test waits for the
    # collector's answer before leaving, since a request cut by the navigation is the SDK's
    # loss or (retried from its local storage on a later visit) its duplicate, not the
    # collector's.
    unload_path: bool
    # Whether the SDK sends the events before the last one while the page is open (RudderStack's
    # beacon mode keeps them all for the unload).
    sends_while_open: bool = True
    # Segment and RudderStack carry the caller's properties as sent; PostHog adds its own
    # ($-prefixed) to every event, so for it only the sent ones are checked.
    exact_properties: bool = True


CASES = [
    Case("segment-default", "segment", "default", "Checkout", unload_path=False),
    Case("segment-batching", "segment", "batching", "Checkout", unload_path=True),
    Case("segment-keepalive", "segment", "keepalive", "Checkout", unload_path=True),
    Case(
        "posthog-autocapture",
        "posthog",
        "autocapture",
        "$pageview",
        unload_path=True,
        exact_properties=False,
    ),
    Case("rudderstack-default", "rudderstack", "default", "Checkout", unload_path=False),
    Case(
        "rudderstack-beacon",
        "rudderstack",
        "beacon",
        "Checkout",
        unload_path=True,
        sends_while_open=False,
    ),
]


@dataclass(frozen=True)
class Expected:
    """One event the page sent: its type, name, user and the properties (or traits) given."""

    type: str
    event: str | None
    user_id: str | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class Visit:
    """What the browser did: its anonymous id, the page's URL and referrer, its user agent, and
    the time window the visit took."""

    anonymous_id: str
    user_agent: str
    url: str
    path: str
    referrer: str
    started: datetime
    ended: datetime


def expected_events(case: Case) -> list[Expected]:
    """The events `visit` makes the page send, in order."""
    events = [
        Expected("page", case.page_event, None, PAGE_PROPERTIES),
        Expected("identify", None, USER_ID, TRAITS),
        Expected("track", "Order Completed", USER_ID, ORDER),
    ]
    if case.page == "posthog":
        events.append(
            Expected(
                "track", "$autocapture", USER_ID, {"$event_type": "click", "$el_text": "Buy now"}
            )
        )
    return [*events, Expected("track", LEAVING[0], USER_ID, LEAVING[1])]


def visit(
    case: Case,
    chromium: "BrowserContext",
    pages: str,
    collector: "BrowserCollector",
    in_flight: "InFlight",
    first_request: int,
) -> Visit:
    """Come from the landing page, send every event, leave; the browser stays open.

    Before the last event the visitor lingers until the earlier ones are delivered and answered:
    a request the navigation cuts short is retried by the SDK, a duplicate of the SDK's making.
    """
    started = datetime.now(UTC)
    landing = f"{pages}/pages/landing.html?next=/pages/{case.page}.html"
    page = chromium.pages[0] if chromium.pages else chromium.new_page()
    page.goto(landing)
    page.click("#enter")
    page.wait_for_load_state("load")
    config = {
        "collector": collector.url,
        "writeKey": collector.keys[case.source],
        "mode": case.mode,
    }
    page.evaluate("config => harness.start(config)", config)
    anonymous_id = page.evaluate("() => harness.anonymousId()")
    page.evaluate("([name, p]) => harness.page(name, p)", [case.page_event, PAGE_PROPERTIES])
    page.evaluate("([id, traits]) => harness.identify(id, traits)", [USER_ID, TRAITS])
    page.evaluate("p => harness.track('Order Completed', p)", ORDER)
    if case.page == "posthog":
        page.click("#buy")  # autocaptured, never sent by the test itself
    user_agent = page.evaluate("() => navigator.userAgent")
    if case.sends_while_open:
        collector.wait_for_bronze(case.source, len(expected_events(case)) - 1, first_request)
    in_flight.wait_until_none(page)
    leave(case, page)
    return Visit(
        anonymous_id=anonymous_id,
        user_agent=user_agent,
        url=f"{pages}/pages/{case.page}.html",
        path=f"/pages/{case.page}.html",
        referrer=landing,
        started=started,
        ended=datetime.now(UTC),
    )


def leave(case: Case, page: "Page") -> None:
    """Send the last event and navigate away: at once where the SDK has an unload path."""
    send = "([name, p]) => harness.track(name, p)"
    if case.unload_path:
        page.evaluate(
            "([name, p]) => { harness.track(name, p); location.href = '/pages/landing.html'; }",
            list(LEAVING),
        )
    else:
        with page.expect_response(
            lambda response: LEAVING[0] in (response.request.post_data or "")
        ):
            page.evaluate(send, list(LEAVING))
        page.evaluate("() => { location.href = '/pages/landing.html'; }")
    page.wait_for_url("**/pages/landing.html")


@pytest.mark.parametrize("case", CASES, ids=[case.source for case in CASES])
def test_every_event_arrives_in_bronze_once_with_every_field(
    case: Case,
    browser_collector: "BrowserCollector",
    page_server: str,
    chromium: "BrowserContext",
    requested_urls: list[str],
    in_flight: "InFlight",
) -> None:
    first_request = len(browser_collector.received)
    expected = expected_events(case)

    done = visit(case, chromium, page_server, browser_collector, in_flight, first_request)
    browser_collector.wait_for_bronze(case.source, len(expected), first_request)
    chromium.close()  # nothing more can arrive: what is in bronze now is all there will be
    rows = browser_collector.bronze(case.source)

    assert_no_request_left_loopback(requested_urls)
    assert_every_request_accepted(browser_collector.received[first_request:])
    assert_each_event_once(rows, expected)
    for want in expected:
        row = next(r for r in rows if (r["type"], r["event"]) == (want.type, want.event))
        assert_row(row, want, done, case)


def assert_no_request_left_loopback(urls: list[str]) -> None:
    elsewhere = [url for url in urls if not url.startswith("http://127.0.0.1:")]
    assert elsewhere == [], "the SDK reached for the internet instead of the collector"


def assert_every_request_accepted(requests: list["CollectorRequest"]) -> None:
    refused = [
        f"{r.method} {r.path}{'?' + r.query if r.query else ''} -> {r.status}: "
        f"{r.decoded_body()[:300]}"
        for r in requests
        if r.status is None or r.refused
    ]
    assert refused == [], "the collector refused requests of the SDK:\n" + "\n".join(refused)


def assert_each_event_once(rows: list[dict[str, Any]], expected: list[Expected]) -> None:
    stored = Counter((row["type"], row["event"]) for row in rows)
    as_sent = [
        json.loads(row["raw"]).get("event", json.loads(row["raw"]).get("type")) for row in rows
    ]
    assert stored == Counter((want.type, want.event) for want in expected), as_sent
    ids = Counter(row["event_id"] for row in rows)
    assert [event_id for event_id, count in ids.items() if count > 1] == []


def assert_row(row: dict[str, Any], want: Expected, done: Visit, case: Case) -> None:
    what = f"{want.type} {want.event!r}"
    assert (row["user_id"], row["anonymous_id"]) == (want.user_id, done.anonymous_id), what
    assert row["source_id"] == case.source, what
    context = json.loads(row["context"])
    page = context.get("page", {})
    assert (page.get("url"), page.get("path"), page.get("referrer")) == (
        done.url,
        done.path,
        done.referrer,
    ), what
    assert context.get("userAgent") == done.user_agent, what
    properties = json.loads(row["properties"])
    if case.exact_properties and want.type != "page":
        assert properties == want.properties, what
    else:
        assert want.properties.items() <= properties.items(), what
    if case.page == "posthog":
        assert [key for key in POSTHOG_BOOKKEEPING if key in properties] == [], what
    # The browser reads the host's clock; the ms the SDKs keep round the window outwards.
    window_start = done.started - timedelta(milliseconds=1)
    window_end = done.ended + timedelta(milliseconds=1)
    assert window_start <= row["original_timestamp"] <= window_end, what
    assert window_start <= row["timestamp"] <= row["received_at"], what
