"""Silver: page views typed from both wire formats and deduplicated, the referrer classified,
user agents parsed once each, anonymous browsers linked to users.

One lake for the module, fed in three deliveries with a model run after each; every case has
browsers of its own.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
QUERY = "utm_source=news%20letter&utm_medium=email&utm_campaign=black+friday&ref=x"
ANDROID_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

# (referrer, query string of the landing URL, Segment campaign context) -> class, by hand.
REFERRER_CASES = {
    "no-referrer": (None, "", None, "direct"),
    "own-site": ("https://shop.example.com/cart", "", None, "direct"),
    "google": ("https://www.google.com/", "", None, "search"),
    "google-uk": ("https://www.google.co.uk/search?q=shop", "", None, "search"),
    "duckduckgo": ("https://duckduckgo.com/", "", None, "search"),
    "organic-tag": (None, "utm_source=bing&utm_medium=organic", None, "search"),
    "facebook": ("https://m.facebook.com/", "", None, "social"),
    "t-co": ("https://t.co/a1b2", "", None, "social"),
    "social-campaign": (None, "", {"source": "fb", "medium": "social", "name": "w"}, "social"),
    "gmail": ("https://mail.google.com/mail/u/0/", "", None, "email"),
    "newsletter": (None, "utm_source=news&utm_medium=email", None, "email"),
    "cpc-from-google": (
        "https://www.google.com/",
        "utm_source=google&utm_medium=cpc",
        None,
        "paid",
    ),
    "gclid-only": ("https://www.google.com/", "gclid=Cj0KCQ", None, "paid"),
    "paid-social": ("https://www.facebook.com/", "utm_medium=paid_social", None, "paid"),
    "blog": ("https://blog.example.org/review", "", None, "referral"),
    "partner-tag": (None, "utm_source=partner&utm_medium=affiliate", None, "referral"),
}


@pytest.fixture(scope="module")
def silver(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    retried = sdk.page("dup-b", AT, "/", message_id="dup")
    with make_models(tmp_path_factory.mktemp("silver")) as models:
        to_bronze(
            models.lake,
            [
                # Both wire formats.
                sdk.page(
                    "seg-b",
                    AT,
                    "/products/watch",
                    query=QUERY,
                    referrer="https://www.Google.com/search?q=watch",
                    user_id="u-1",
                    message_id="seg-1",
                ),
                sdk.track(
                    "seg-b",
                    AT + timedelta(seconds=30),
                    "purchase",
                    "/checkout",
                    properties={"revenue": 42.5, "currency": "EUR"},
                    message_id="seg-2",
                ),
                sdk.posthog_pageview(
                    "ph-b",
                    AT,
                    "/cart",
                    utm={"source": "google", "medium": "cpc", "campaign": "brand"},
                    user_agent=sdk.SAFARI_IPHONE,
                ),
                # Referrers.
                *(
                    sdk.page(f"ref-{case}", AT, "/", referrer=referrer, query=query, campaign=utm)
                    for case, (referrer, query, utm, _) in REFERRER_CASES.items()
                ),
                # A retry within one delivery.
                retried,
                retried,
                sdk.page("dup-b", AT, "/a", message_id="other"),
                # User agents.
                *(
                    sdk.page(f"ua-{n}", AT, "/", user_agent=agent)
                    for n, agent in enumerate(
                        [sdk.CHROME_WINDOWS, sdk.SAFARI_IPAD, sdk.FIREFOX_LINUX, sdk.GOOGLEBOT]
                    )
                ),
                # Identities.
                sdk.identify("id-1", "u1", AT),
                sdk.identify("id-2", "u2", AT),
                sdk.posthog_pageview("id-3", AT, "/"),  # not signed in: links nothing
            ],
        )
        models.run()
        # A day later: the retry again, user agents seen before and new ones, a newer identify.
        to_bronze(
            models.lake,
            [
                retried,
                sdk.page("dup-b", AT, "/b", message_id="new"),
                sdk.page("ua-9", AT, "/", user_agent=sdk.CHROME_WINDOWS),
                sdk.page("ua-10", AT, "/", user_agent=ANDROID_PHONE),
                sdk.page("ua-11", AT, "/", user_agent=ANDROID_TABLET),
                sdk.identify("id-1", "u9", AT + timedelta(hours=1)),
            ],
            timedelta(days=1),
        )
        models.run()
        # Delivered late, and older than the link held: it must not replace it.
        to_bronze(models.lake, [sdk.identify("id-1", "u5", AT + timedelta(minutes=30))])
        models.run()
        yield models


def test_segment_and_posthog_page_views_land_in_one_layout(silver, sdk) -> None:  # type: ignore[no-untyped-def]
    rows = {row["event_id"]: row for row in silver.rows("silver.page_views")}
    page, purchase = rows["seg-1"], rows["seg-2"]
    (posthog,) = (row for row in rows.values() if row["visitor_id"] == "ph-b")

    assert page == {
        "event_id": "seg-1",
        "type": "page",
        "event": "/products/watch",
        "is_pageview": True,
        "is_conversion": False,
        "visitor_id": "seg-b",
        "anonymous_id": "seg-b",
        "user_id": "u-1",
        "timestamp": AT,
        "received_at": AT + timedelta(seconds=1),
        "url": f"{sdk.SITE}/products/watch?{QUERY}",
        "host": "shop.example.com",
        "path": "/products/watch",
        "query": QUERY,
        "utm_source": "news letter",
        "utm_medium": "email",
        "utm_campaign": "black friday",
        "utm_term": None,
        "utm_content": None,
        "referrer": "https://www.Google.com/search?q=watch",
        "referrer_host": "google.com",
        "source": "email",  # the campaign's medium says more than the search engine
        "user_agent": sdk.CHROME_WINDOWS,
        "ip": None,
        "revenue": None,
        "currency": None,
        "wire_format": "segment",
        "properties": orjson.dumps(
            {
                "url": f"{sdk.SITE}/products/watch?{QUERY}",
                "path": "/products/watch",
                "referrer": "https://www.Google.com/search?q=watch",
                "title": "/products/watch",
            }
        ).decode(),
    }
    assert (purchase["event"], purchase["is_pageview"], purchase["is_conversion"]) == (
        "purchase",
        False,
        True,
    )
    assert (purchase["revenue"], purchase["currency"], purchase["path"]) == (
        42.5,
        "EUR",
        "/checkout",
    )
    # PostHog's distinct_id is the device id until sign-in: no user yet; `$direct`: no referrer.
    assert (posthog["visitor_id"], posthog["user_id"], posthog["wire_format"]) == (
        "ph-b",
        None,
        "posthog",
    )
    assert (posthog["referrer"], posthog["referrer_host"]) == (None, None)
    assert (posthog["host"], posthog["path"]) == ("shop.example.com", "/cart")
    assert (posthog["utm_source"], posthog["utm_medium"], posthog["utm_campaign"]) == (
        "google",
        "cpc",
        "brand",
    )
    assert (posthog["source"], posthog["user_agent"]) == ("paid", sdk.SAFARI_IPHONE)


def test_identify_calls_are_not_page_views(silver) -> None:  # type: ignore[no-untyped-def]
    assert {row["type"] for row in silver.rows("silver.page_views")} == {"page", "track"}


def test_referrers_are_classified(silver) -> None:  # type: ignore[no-untyped-def]
    found = {
        row["visitor_id"].removeprefix("ref-"): row["source"]
        for row in silver.rows("silver.page_views")
        if row["visitor_id"].startswith("ref-")
    }

    assert found == {case: expected[3] for case, expected in REFERRER_CASES.items()}


def test_duplicate_event_ids_are_kept_once(silver) -> None:  # type: ignore[no-untyped-def]
    rows = [
        row for row in silver.rows("silver.page_views", "event_id") if row["visitor_id"] == "dup-b"
    ]

    # Sent twice in one delivery, and again a day later: once, as first received.
    assert [row["event_id"] for row in rows] == ["dup", "new", "other"]
    assert rows[0]["received_at"] == AT + timedelta(seconds=1)


def test_each_user_agent_is_parsed_once(silver, sdk) -> None:  # type: ignore[no-untyped-def]
    rows = silver.rows("silver.user_agents")
    parsed = {
        row["user_agent"]: (
            row["browser"],
            row["browser_version"],
            row["os"],
            row["os_version"],
            row["device_type"],
            row["is_bot"],
        )
        for row in rows
    }

    assert len(rows) == len(parsed)  # Chrome on Windows came in both deliveries
    assert parsed == {
        sdk.CHROME_WINDOWS: ("Chrome", "131.0", "Windows", "10", "desktop", False),
        sdk.SAFARI_IPHONE: ("Mobile Safari", "18.1", "iOS", "18.1", "mobile", False),
        sdk.SAFARI_IPAD: ("Mobile Safari", "18.1", "iOS", "18.1", "tablet", False),
        sdk.FIREFOX_LINUX: ("Firefox", "133.0", "Linux", None, "desktop", False),
        sdk.GOOGLEBOT: ("Googlebot", "2.1", "Other", None, "bot", True),
        ANDROID_PHONE: ("Chrome Mobile", "131.0", "Android", "14", "mobile", False),
        ANDROID_TABLET: ("Chrome", "131.0", "Android", "14", "tablet", False),
    }


def test_the_latest_identify_links_a_browser_to_its_user(silver) -> None:  # type: ignore[no-untyped-def]
    links = {
        row["anonymous_id"]: row["user_id"]
        for row in silver.rows("silver.identities")
        if row["anonymous_id"].startswith("id-")
    }

    assert links == {"id-1": "u9", "id-2": "u2"}
