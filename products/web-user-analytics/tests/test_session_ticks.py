"""Web sessions tick by tick: a tick re-sessionises only the browser-days its new events fall
on, a new identify link rewrites only its browser's events, the tables built on them read and
rewrite only the sessions and days that touches, and any split of the traffic into ticks ends in
the tables a full rebuild gives."""

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from web_user_analytics.product import product

# Every model downstream of silver: each must end where a full rebuild ends.
GOLD = [
    "gold.session_events",
    "gold.sessions",
    "gold.pages",
    "gold.sources",
    "gold.devices",
    "gold.daily_overview",
    "gold.events",
    "gold.visitors_last_seen",
]
START = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # three hours before midnight UTC


def table_rows(models: Any, table: str) -> list[tuple[Any, ...]]:
    """A table's rows as tuples, columns in name order, sorted by their text (nulls sort too)."""
    rows = models.rows(table)
    return sorted(
        (
            tuple(
                tuple(map(repr, row[c])) if isinstance(row[c], list) else row[c]
                for c in sorted(row)
            )
            for row in rows
        ),
        key=repr,
    )


def state_rows(models: Any) -> list[tuple[Any, ...]]:
    """silver.session_state without `revision`, which counts the rewrites a split made."""
    rows = [
        {k: v for k, v in row.items() if k != "revision"}
        for row in models.rows("silver.session_state")
    ]
    return sorted((tuple(row[c] for c in sorted(row)) for row in rows), key=repr)


def tables(models: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {"silver.session_state": state_rows(models)} | {t: table_rows(models, t) for t in GOLD}


def full_rebuild(models: Any) -> None:
    results = models.runner.run(full_refresh=True)
    assert not [r for r in results if r.status == "failed"], results


def rewritten_since(models: Any, table: str, version: int, column: str) -> set[Any]:
    """The values of `column` in the rows a table's commits after `version` inserted or updated."""
    changes = models.lake.changes_since(product.context().table(table), version)
    return {
        row[column]
        for row in changes.to_pylist()
        if row["_change_type"] in ("insert", "update_postimage")
    }


def version(models: Any, table: str) -> int:
    return int(models.lake.version(product.context().table(table)))


# --- random traffic ---------------------------------------------------------------------------

CAMPAIGNS = [
    None,
    None,
    None,
    {"source": "news", "medium": "email", "name": "weekly"},
    {"source": "google", "medium": "cpc", "name": "brand"},
]
PATHS = ["/", "/products/a", "/products/b", "/cart", "/checkout"]


def random_traffic(rng: random.Random, sdk: Any, prefix: str) -> list[tuple[Any, timedelta]]:
    """(item, delivery delay) for a few browsers over two evenings: gaps on both sides of the
    30-minute timeout, midnight, campaigns, clicks and purchases, a bot, own user ids, identify
    links before, between and after the events (one browser signs in as two users), retries.
    Browsers and users are named after `prefix`."""
    agents = [sdk.CHROME_WINDOWS, sdk.FIREFOX_LINUX, sdk.SAFARI_IPHONE, sdk.SAFARI_IPAD]
    items: list[tuple[Any, timedelta]] = []
    for browser in [f"{prefix}b{i}" for i in range(rng.randint(3, 5))]:
        agent = rng.choice(agents)
        at = START + timedelta(minutes=rng.randrange(240))
        for _ in range(rng.randint(2, 9)):
            at += timedelta(minutes=rng.choice([0.2, 1, 5, 20, 29, 31, 45, 200]))
            if rng.random() < 0.7:
                campaign = rng.choice(CAMPAIGNS)
                item = sdk.page(
                    browser,
                    at,
                    rng.choice(PATHS),
                    campaign=campaign,
                    user_agent=agent,
                    user_id=f"u-{browser}" if rng.random() < 0.2 else None,
                )
            else:
                event = rng.choice(["click", "click", "purchase"])
                props = {"revenue": 10, "currency": "EUR"} if event == "purchase" else {}
                item = sdk.track(browser, at, event, user_agent=agent, properties=props)
            items.append((item, timedelta(seconds=1)))
        for user in rng.sample(
            [f"{prefix}{name}" for name in ("ana", "bo", "cy")], rng.randint(0, 2)
        ):
            linked = START + timedelta(minutes=rng.randrange(600))
            items.append((sdk.identify(browser, user, linked), timedelta(seconds=1)))
    for _ in range(rng.randint(1, 3)):
        at = START + timedelta(minutes=rng.randrange(400))
        crawl = sdk.page(f"{prefix}crawler", at, "/", user_agent=sdk.GOOGLEBOT)
        items.append((crawl, timedelta(seconds=1)))
    items.extend(rng.choices(items, k=rng.randint(1, 3)))  # retried deliveries
    rng.shuffle(items)
    # Some events are delivered days late, after the rest of their day.
    return [
        (item, timedelta(days=rng.choice([1, 3])) if rng.random() < 0.15 else delay)
        for item, delay in items
    ]


def split_into_ticks(rng: random.Random, items: list[Any]) -> list[list[Any]]:
    cuts = sorted(rng.sample(range(1, len(items)), rng.randint(1, 3)))
    return [items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True)]


def lake_in(make_models: Callable[[Path], Any], folder: Path, timezone: str = "UTC") -> Any:
    """The models over a fresh lake, reporting in `timezone`."""
    with pytest.MonkeyPatch.context() as settings:
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_REPORTING_TIMEZONE", timezone)
        return make_models(folder)


@pytest.fixture
def fresh_models(make_models: Callable[[Path], Any], tmp_path: Path) -> Iterator[Any]:
    with lake_in(make_models, tmp_path) as models:
        yield models


# One lake per timezone for every case (a runner parses the lineage once): each case's
# browsers are its own, and it ticks on top of the history the cases before it left.
@pytest.fixture(scope="module")
def lakes(
    make_models: Callable[[Path], Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    found = {
        zone: lake_in(make_models, tmp_path_factory.mktemp("ticks"), zone)
        for zone in ("UTC", "Europe/Paris")
    }
    yield found
    for models in found.values():
        models.store.dispose()


@pytest.mark.parametrize(
    ("seed", "timezone"),
    [(seed, "UTC") for seed in range(7)] + [(seed, "Europe/Paris") for seed in range(7, 10)],
)
def test_any_split_of_the_traffic_into_ticks_gives_the_tables_of_a_full_rebuild(
    seed: int, timezone: str, lakes: dict[str, Any], sdk: Any, to_bronze: Callable[..., None]
) -> None:
    models = lakes[timezone]
    rng = random.Random(seed)
    traffic = random_traffic(rng, sdk, prefix=f"s{seed}-")

    for tick in split_into_ticks(rng, traffic):
        for delay in {d for _, d in tick}:
            to_bronze(models.lake, [item for item, d in tick if d == delay], delay)
        models.run()
    ticked = tables(models)
    full_rebuild(models)

    assert ticked == tables(models)
    assert any(row for row in ticked["gold.sessions"] if f"s{seed}-" in repr(row))


# --- named cases ------------------------------------------------------------------------------


def test_a_late_event_rewrites_only_its_browser_day(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    day_one, day_two = START, START + timedelta(days=1)
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", day_one, "/"),
            sdk.page("ana", day_one + timedelta(minutes=40), "/cart"),
            sdk.page("ana", day_two, "/"),
            sdk.page("bo", day_one + timedelta(minutes=10), "/"),
        ],
    )
    fresh_models.run()
    before = version(fresh_models, "gold.session_events")
    sessions_before = version(fresh_models, "gold.sessions")

    # Between ana's two page views of day one, delivered a day late: they become one session.
    late = sdk.page("ana", day_one + timedelta(minutes=20), "/products/a")
    to_bronze(fresh_models.lake, [late], timedelta(days=1))
    ran = {r.model.split(".", 1)[1]: r for r in fresh_models.run()}

    rewritten = rewritten_since(fresh_models, "gold.session_events", before, "event_id")
    ana_day_one = {
        row["event_id"]
        for row in fresh_models.rows("gold.session_events")
        if row["visitor_id"] == "ana" and row["timestamp"] < day_one + timedelta(hours=2)
    }
    assert rewritten == ana_day_one  # ana's day two and bo are left alone
    assert ran["gold.session_events"].rows_out == 3
    sessions = [
        (row["visitor_id"], row["pageviews"])
        for row in fresh_models.rows("gold.sessions", "started_at")
    ]
    assert sessions == [("ana", 3), ("bo", 1), ("ana", 1)]
    assert version(fresh_models, "gold.sessions") > sessions_before


def test_a_tick_of_only_a_new_link_gives_its_browser_events_their_user(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana-laptop", START, "/"),
            sdk.page("ana-laptop", START + timedelta(days=2), "/", user_id="ana-work"),
            sdk.page("bo-phone", START, "/"),
        ],
    )
    fresh_models.run()
    before = version(fresh_models, "gold.session_events")

    # Days later the browser signs in: its earlier events are ana's, except the one that said
    # its own user.
    to_bronze(fresh_models.lake, [sdk.identify("ana-laptop", "ana", START + timedelta(days=3))])
    fresh_models.run()

    users = {
        (row["visitor_id"], row["timestamp"]): (row["user_id"], row["person_id"])
        for row in fresh_models.rows("gold.session_events")
    }
    assert users == {
        ("ana-laptop", START): ("ana", "ana"),
        ("ana-laptop", START + timedelta(days=2)): ("ana-work", "ana-work"),
        ("bo-phone", START): (None, "bo-phone"),
    }
    assert rewritten_since(fresh_models, "gold.session_events", before, "visitor_id") == {
        "ana-laptop"
    }
    ticked = tables(fresh_models)
    full_rebuild(fresh_models)
    assert ticked == tables(fresh_models)


def test_an_event_after_its_agent_was_parsed_and_its_browser_linked_keeps_both(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("first", START, "/", user_agent=sdk.SAFARI_IPHONE),
            sdk.identify("second", "cy", START),
        ],
    )
    fresh_models.run()

    # A new browser with the iPhone agent parsed a tick ago, and the linked browser's first page.
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("other", START + timedelta(minutes=5), "/", user_agent=sdk.SAFARI_IPHONE),
            sdk.page("second", START + timedelta(minutes=5), "/"),
        ],
    )
    fresh_models.run()

    seen = {
        row["visitor_id"]: (row["device_type"], row["user_id"])
        for row in fresh_models.rows("gold.session_events")
    }
    assert seen == {
        "first": ("mobile", None),
        "other": ("mobile", None),
        "second": ("desktop", "cy"),
    }


# --- what a tick reads and rewrites ----------------------------------------------------------

DAY_ONE = datetime(2026, 11, 20, tzinfo=UTC)
DAY_TWO = DAY_ONE + timedelta(days=1)
PER_DAY = ["gold.pages", "gold.events", "gold.sources", "gold.devices", "gold.daily_overview"]
UP_TO_SESSION_EVENTS = [
    "silver.page_views",
    "silver.user_agents",
    "silver.identities",
    "silver.session_state",
    "gold.session_events",
]
EMAIL = {"source": "news", "medium": "email", "name": "weekly"}
PAID = {"source": "google", "medium": "cpc", "name": "brand"}


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def run_only(models: Any, names: list[str], *, full_refresh: bool = False) -> None:
    results = models.runner.run(names, full_refresh=full_refresh)
    failed = [result for result in results if result.status == "failed"]
    assert not failed, failed


def break_days_other_than(models: Any, table: str, day: date) -> None:
    """Overwrite every data file of `table` outside `day`'s partition: reading one fails."""
    for uri in models.lake.table(product.context().table(table)).file_uris():
        if f"day={day.isoformat()}" not in uri:
            Path(uri.removeprefix("file://")).write_bytes(b"not parquet")


def changed_rows(models: Any, table: str, version: int) -> list[dict[str, Any]]:
    """The rows a table's commits after `version` inserted or updated, as they are now."""
    changes = models.lake.changes_since(product.context().table(table), version).to_pylist()
    return [row for row in changes if row["_change_type"] in ("insert", "update_postimage")]


def test_a_tick_on_one_day_reads_and_rewrites_only_that_day(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", at(DAY_ONE, 10), "/", message_id="ana-1"),
            sdk.page("bo", at(DAY_ONE, 11), "/products/a", message_id="bo-1"),
            sdk.track("bo", at(DAY_ONE, 11, 5), "click", "/products/a"),
            sdk.page("ana", at(DAY_TWO, 9), "/", message_id="ana-2a"),
            sdk.page("ana", at(DAY_TWO, 10), "/products/a", message_id="ana-2b"),
            sdk.page("cy", at(DAY_TWO, 9, 30), "/", campaign=EMAIL, message_id="cy-2"),
        ],
    )
    fresh_models.run()
    before = {table: version(fresh_models, table) for table in ["gold.sessions", *PER_DAY]}

    # ana goes on to her cart in her second session of day two.
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", at(DAY_TWO, 10, 5), "/cart"),
            sdk.track("ana", at(DAY_TWO, 10, 6), "click", "/cart"),
        ],
    )
    # Day one's files of each input are unreadable by the time the models that read it run.
    run_only(fresh_models, UP_TO_SESSION_EVENTS)
    break_days_other_than(fresh_models, "gold.session_events", DAY_TWO.date())
    run_only(fresh_models, ["gold.sessions"])
    break_days_other_than(fresh_models, "gold.sessions", DAY_TWO.date())
    fresh_models.run()

    sessions = {
        row["session_id"]: (row["pageviews"], row["events"], row["exit_page"])
        for row in changed_rows(fresh_models, "gold.sessions", before["gold.sessions"])
    }
    # ana's day two is re-sessionised whole; her day one, bo and cy are left alone.
    assert sessions == {"ana-2a": (1, 1, "/"), "ana-2b": (2, 3, "/cart")}
    for table in PER_DAY:
        days = {row["day"] for row in changed_rows(fresh_models, table, before[table])}
        assert days == {DAY_TWO.date()}, table
    [overview] = changed_rows(fresh_models, "gold.daily_overview", before["gold.daily_overview"])
    assert (overview["visitors"], overview["sessions"], overview["pageviews"]) == (2, 3, 4)


def test_a_late_landing_page_takes_over_a_session_whose_old_id_and_source_go(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", at(DAY_ONE, 10), "/", message_id="ana-direct"),
            sdk.page("ana", at(DAY_ONE, 10, 10), "/cart"),
            sdk.page("bo", at(DAY_ONE, 12), "/", campaign=EMAIL, message_id="bo-email"),
        ],
    )
    fresh_models.run()

    # Delivered a day late: ana had come from an ad five minutes before, and her page without a
    # campaign continues that visit, so the session is the ad's and no longer direct.
    late = sdk.page("ana", at(DAY_ONE, 9, 55), "/", campaign=PAID, message_id="ana-ad")
    to_bronze(fresh_models.lake, [late], timedelta(days=1))
    ran = {r.model.split(".", 1)[1]: r for r in fresh_models.run()}

    sessions = {
        row["session_id"]: (row["source"], row["pageviews"])
        for row in fresh_models.rows("gold.sessions")
    }
    assert sessions == {"ana-ad": ("paid", 3), "bo-email": ("email", 1)}
    sources = {
        (row["source"], row["utm_source"], row["utm_medium"], row["utm_campaign"]): row["sessions"]
        for row in fresh_models.rows("gold.sources")
    }
    assert sources == {
        ("paid", "google", "cpc", "brand"): 1,
        ("email", "news", "email", "weekly"): 1,
    }
    assert (ran["gold.sessions"].rows_deleted, ran["gold.sources"].rows_deleted) == (1, 1)
    [overview] = fresh_models.rows("gold.daily_overview")
    assert (overview["sessions"], overview["pageviews"]) == (2, 4)
    ticked = tables(fresh_models)
    full_rebuild(fresh_models)
    assert ticked == tables(fresh_models)


def test_an_id_sent_again_past_the_retry_window_under_another_time_counts_on_its_new_day(
    fresh_models: Any, sdk: Any, to_bronze: Callable[..., None]
) -> None:
    """Sessions are kept by day, so a tick never looks through every day for an event id: an
    id silver.page_views takes again (past the 7 days it looks back for retries) under another
    time is an event of that day as well, and the tables counted from the sessions agree with a
    recount. SDKs retry with the event's own time, which lands on the same day and row."""
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", at(DAY_ONE, 10), "/"),
            sdk.page("ana", at(DAY_ONE, 10, 1), "/offer", message_id="offer"),
            sdk.track("ana", at(DAY_ONE, 10, 2), "Coupon Used", message_id="coupon"),
        ],
    )
    fresh_models.run()

    moved = DAY_ONE + timedelta(days=9)
    to_bronze(
        fresh_models.lake,
        [
            sdk.page("ana", at(moved, 10), "/offer", message_id="offer"),
            sdk.track("ana", at(moved, 10, 1), "Coupon Used", message_id="coupon"),
        ],
    )
    fresh_models.run()

    pages = {(row["day"], row["path"]): row["views"] for row in fresh_models.rows("gold.pages")}
    assert pages == {
        (DAY_ONE.date(), "/"): 1,
        (DAY_ONE.date(), "/offer"): 1,
        (moved.date(), "/offer"): 1,
    }
    events = {(row["day"], row["event"]) for row in fresh_models.rows("gold.events")}
    assert events == {(DAY_ONE.date(), "Coupon Used"), (moved.date(), "Coupon Used")}
    recounted = ["silver.session_state", "gold.session_events", "gold.sessions", "gold.pages"]
    ticked = {table: table_rows(fresh_models, table) for table in recounted}
    run_only(fresh_models, recounted, full_refresh=True)
    assert ticked == {table: table_rows(fresh_models, table) for table in recounted}
