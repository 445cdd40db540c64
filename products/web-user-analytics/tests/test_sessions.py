"""Sessions: split after 30 minutes without an event, at midnight in the reporting timezone and
when a campaign changes; engaged or bounced; bots left out; late events reshape them.

Every case is one browser of its own, in one lake per configuration; expected sessions are
written out by hand as (start, end, page views, engaged).
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest


def at(clock: str, day: int = 20) -> datetime:
    """2026-11-<day> at `clock` (HH:MM or HH:MM:SS), UTC."""
    parts = [int(part) for part in clock.split(":")]
    return datetime(
        2026, 11, day, parts[0], parts[1], parts[2] if len(parts) > 2 else 0, tzinfo=UTC
    )


def across_midnight(sdk) -> list[Any]:  # type: ignore[no-untyped-def]
    """Fifteen minutes apart, on both sides of midnight UTC, and of midnight in Paris (UTC+1)."""
    return [
        sdk.page("midnight-utc", at("23:50"), "/"),
        sdk.page("midnight-utc", at("00:05", day=21), "/cart"),
        sdk.page("midnight-paris", at("22:50"), "/"),
        sdk.page("midnight-paris", at("23:05"), "/cart"),
        sdk.page("bot", at("15:00"), "/", user_agent=sdk.GOOGLEBOT),
        sdk.page("bot", at("15:00:20"), "/cart", user_agent=sdk.GOOGLEBOT),
    ]


def sessions_by_visitor(models) -> dict[str, list[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[tuple[Any, ...]]] = {}
    for row in models.rows("gold.sessions", "started_at"):
        found.setdefault(row["visitor_id"], []).append(
            (row["started_at"], row["ended_at"], row["pageviews"], row["is_engaged"])
        )
    return found


@pytest.fixture(scope="module")
def utc(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The product's own settings (UTC, bots left out), two deliveries."""
    twice = sdk.page("duplicates", at("13:00"), "/", message_id="sent-twice")
    with make_models(tmp_path_factory.mktemp("utc")) as models:
        to_bronze(
            models.lake,
            [
                *across_midnight(sdk),
                sdk.page("timeout", at("09:00"), "/"),
                sdk.page("timeout", at("09:29"), "/a"),
                sdk.page("timeout", at("09:59"), "/b"),
                sdk.page(
                    "campaign",
                    at("12:00"),
                    "/",
                    query="utm_source=news&utm_medium=email&utm_campaign=weekly",
                ),
                sdk.page("campaign", at("12:05"), "/products/a"),
                sdk.page(
                    "campaign",
                    at("12:10"),
                    "/",
                    query="utm_source=google&utm_medium=cpc&utm_campaign=brand",
                    referrer="https://www.google.com/",
                ),
                sdk.page("campaign", at("12:12"), "/cart"),
                twice,
                twice,
                sdk.page("duplicates", at("13:00:05"), "/a"),
                # Out of order in the delivery.
                sdk.page("late", at("14:50"), "/b"),
                sdk.page("late", at("14:00"), "/"),
                sdk.page("nine-seconds", at("16:00:00"), "/"),
                sdk.track("nine-seconds", at("16:00:09"), "click"),
                sdk.page("ten-seconds", at("16:00:00"), "/"),
                sdk.track("ten-seconds", at("16:00:10"), "click"),
                sdk.page("one-page", at("16:00:00"), "/"),
                sdk.page("two-pages", at("16:00:00"), "/"),
                sdk.page("two-pages", at("16:00:01"), "/a"),
                sdk.page("converted", at("16:00:00"), "/"),
                sdk.track("converted", at("16:00:03"), "purchase", properties={"revenue": 10}),
            ],
        )
        models.run()
        before_late_event = sessions_by_visitor(models)
        # A page view between the two, delivered a day late.
        to_bronze(models.lake, [sdk.page("late", at("14:25"), "/a")], timedelta(days=1))
        models.run()
        yield {"before_late_event": before_late_event, "after": sessions_by_visitor(models)}


@pytest.fixture(scope="module")
def paris_with_bots(make_models, sdk, to_bronze, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Reporting in Europe/Paris, bots kept."""
    with pytest.MonkeyPatch.context() as settings:
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_REPORTING_TIMEZONE", "Europe/Paris")
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_EXCLUDE_BOTS", "false")
        models = make_models(tmp_path_factory.mktemp("paris"))
    with models:
        to_bronze(models.lake, across_midnight(sdk))
        models.run()
        yield {
            "sessions": sessions_by_visitor(models),
            "rows": models.rows("gold.sessions", "started_at"),
        }


def test_session_across_midnight(utc) -> None:  # type: ignore[no-untyped-def]
    assert utc["after"]["midnight-utc"] == [
        (at("23:50"), at("23:50"), 1, False),
        (at("00:05", day=21), at("00:05", day=21), 1, False),
    ]
    assert utc["after"]["midnight-paris"] == [(at("22:50"), at("23:05"), 2, True)]


def test_session_across_midnight_in_the_reporting_timezone(paris_with_bots) -> None:  # type: ignore[no-untyped-def]
    # 23:50 and 00:05 UTC are 00:50 and 01:05 in Paris: one day there.
    assert paris_with_bots["sessions"]["midnight-utc"] == [
        (at("23:50"), at("00:05", day=21), 2, True)
    ]
    # 22:50 and 23:05 UTC are 23:50 and 00:05 in Paris.
    assert paris_with_bots["sessions"]["midnight-paris"] == [
        (at("22:50"), at("22:50"), 1, False),
        (at("23:05"), at("23:05"), 1, False),
    ]
    days = {(row["visitor_id"], row["started_at"]): row["day"] for row in paris_with_bots["rows"]}
    assert days[("midnight-utc", at("23:50"))] == date(2026, 11, 21)
    assert days[("midnight-paris", at("23:05"))] == date(2026, 11, 21)


def test_thirty_minutes_without_an_event_ends_a_session(utc) -> None:  # type: ignore[no-untyped-def]
    # 29 minutes apart: the same session; 30 minutes: a new one.
    assert utc["after"]["timeout"] == [
        (at("09:00"), at("09:29"), 2, True),
        (at("09:59"), at("09:59"), 1, False),
    ]


def test_a_new_campaign_mid_session_starts_a_session(utc) -> None:  # type: ignore[no-untyped-def]
    # The page without a campaign continues the email session; the ad click starts another.
    assert utc["after"]["campaign"] == [
        (at("12:00"), at("12:05"), 2, True),
        (at("12:10"), at("12:12"), 2, True),
    ]


def test_a_retried_event_counts_once(utc) -> None:  # type: ignore[no-untyped-def]
    assert utc["after"]["duplicates"] == [(at("13:00"), at("13:00:05"), 2, True)]


def test_a_late_event_joins_the_sessions_around_it(utc) -> None:  # type: ignore[no-untyped-def]
    # Delivered out of order: 14:00 and 14:50 are 50 minutes apart, two sessions ...
    assert utc["before_late_event"]["late"] == [
        (at("14:00"), at("14:00"), 1, False),
        (at("14:50"), at("14:50"), 1, False),
    ]
    # ... until 14:25 arrives a day late and bridges them.
    assert utc["after"]["late"] == [(at("14:00"), at("14:50"), 3, True)]


def test_bots_are_left_out(utc) -> None:  # type: ignore[no-untyped-def]
    assert "bot" not in utc["after"]


def test_bots_are_kept_when_exclude_bots_is_false(paris_with_bots) -> None:  # type: ignore[no-untyped-def]
    (bot,) = (row for row in paris_with_bots["rows"] if row["visitor_id"] == "bot")

    assert (bot["pageviews"], bot["is_bot"], bot["device_type"], bot["browser"]) == (
        2,
        True,
        "bot",
        "Googlebot",
    )


@pytest.mark.parametrize(
    ("visitor", "engaged"),
    [
        ("nine-seconds", False),  # one page and a click 9 s later
        ("ten-seconds", True),  # one page and a click 10 s later
        ("one-page", False),
        ("two-pages", True),  # 1 s apart
        ("converted", True),  # one page and a purchase 3 s later
    ],
)
def test_engaged_and_bounce_boundaries(utc, visitor: str, engaged: bool) -> None:  # type: ignore[no-untyped-def]
    ((_, _, _, is_engaged),) = utc["after"][visitor]

    assert is_engaged is engaged
