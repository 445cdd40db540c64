"""Hand-made rows in the gold tables the product reads, and its models run over them, on a real
lake and metadata store.

The input schemas below are the columns the product reads, typed as the producing products'
model headers declare them (test_inputs.py holds the two together).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner
from user_segmentation.product import product
from user_segmentation.storage import ensure_written_tables

TIME = pa.timestamp("us", tz="UTC")
WEB_LINKS = "web_user_analytics.gold.identity_links"
MOBILE_LINKS = "mobile_user_analytics.gold.identity_links"
SESSION_EVENTS = "web_user_analytics.gold.session_events"
USER_DAYS = "mobile_user_analytics.gold.user_days"

IDENTITY_LINKS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("first_linked_at", TIME),
        ("last_linked_at", TIME),
    ]
)
SESSION_EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("session_id", pa.string()),
        ("visitor_id", pa.string()),
        ("user_id", pa.string()),
        ("timestamp", TIME),
        ("event", pa.string()),
        ("is_pageview", pa.bool_()),
        ("is_conversion", pa.bool_()),
        ("revenue", pa.float64()),
        ("path", pa.string()),
    ]
)
USER_DAYS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("signed_in", pa.bool_()),
        ("day", pa.date32()),
        ("platform", pa.string()),
        ("first_seen", TIME),
        ("last_seen", TIME),
        ("sessions", pa.int64()),
        ("events", pa.int64()),
        ("purchases", pa.int64()),
        (
            "revenue",
            pa.list_(pa.struct([("currency", pa.string()), ("amount", pa.float64())])),
        ),
        ("screens", pa.map_(pa.string(), pa.int64())),
    ]
)
SCHEMAS = {
    WEB_LINKS: IDENTITY_LINKS_SCHEMA,
    MOBILE_LINKS: IDENTITY_LINKS_SCHEMA,
    SESSION_EVENTS: SESSION_EVENTS_SCHEMA,
    USER_DAYS: USER_DAYS_SCHEMA,
}


def at(text: str) -> datetime:
    """`2026-11-20 12:00` as a UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def link(user: str, anonymous: str, when: str = "2026-11-01 00:00") -> dict[str, Any]:
    return {
        "user_id": user,
        "anonymous_id": anonymous,
        "first_linked_at": at(when),
        "last_linked_at": at(when),
    }


def web_event(
    event_id: str,
    when: str,
    *,
    browser: str,
    session: str,
    user: str | None = None,
    page: str | None = None,
    event: str | None = None,
    revenue: float | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """A page view of `page`, or a tracked `event` (a `purchase` converts with `revenue`)."""
    return {
        "event_id": event_id,
        "session_id": session,
        "visitor_id": browser,
        "user_id": user,
        "timestamp": at(when),
        "event": event or page,
        "is_pageview": page is not None,
        "is_conversion": event == "purchase",
        "revenue": revenue,
        "path": page or path,
    }


def app_day(
    key: str,
    *,
    signed_in: bool = True,
    first: str,
    last: str,
    sessions: int,
    events: int,
    purchases: int = 0,
    revenue: dict[str, float] | None = None,
    screens: dict[str, int] | None = None,
    platform: str = "ios",
) -> dict[str, Any]:
    """A row of mobile's user_days: one day (that of `first`) on one platform of a signed-in
    user, or of an install before sign-in."""
    return {
        "user_id": key,
        "signed_in": signed_in,
        "day": at(first).date(),
        "platform": platform,
        "first_seen": at(first),
        "last_seen": at(last),
        "sessions": sessions,
        "events": events,
        "purchases": purchases,
        "revenue": [{"currency": c, "amount": a} for c, a in sorted((revenue or {}).items())],
        "screens": sorted((screens or {}).items()),
    }


@dataclass
class Pipeline:
    """Input gold tables in, every model of the product run, its tables out."""

    lake: Lakehouse
    runner: ModelRunner

    def publish(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Replace an input gold table's rows, as its producer's `replace` models do."""
        data = pa.Table.from_pylist(list(rows), SCHEMAS[table])
        if self.lake.exists(table):
            self.lake.overwrite(table, data)
        else:
            self.lake.append(table, data)

    def run(self, *, full_refresh: bool = False) -> None:
        results = self.runner.run(full_refresh=full_refresh)
        failed = [r for r in results if r.status not in ("succeeded", "up_to_date")]
        assert not failed, failed

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.lake.read(product.context().table(table)).to_pylist()

    def features(self) -> dict[str, dict[str, Any]]:
        return {row["person_id"]: row for row in self.rows("gold.user_features")}


def make_pipeline(folder: Path, lake_root: Path | None = None) -> Pipeline:
    """Run records in `folder`, over the lake at `lake_root` (a new one in `folder` by default),
    with the tables the product writes itself created, as its jobs process does at start."""
    store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
    store.upgrade()
    lake = Lakehouse(lake_root or folder / "lake")
    ensure_written_tables(lake, product.context())
    return Pipeline(lake, ModelRunner(product.model_graph(), lake, store))


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return make_pipeline(tmp_path)


# --- one small world, used by the feature, membership and API tests -------------------------
#
# as_of T = 2026-11-20 12:00 (ana's last app event, the newest input); the window is the 30
# UTC days 2026-10-22 to 2026-11-20.
#
#   ana  user "ana", browser "b-ana" (linked by web), install "i-ana" (linked by mobile)
#        web  2026-09-01 08:00  s0 page /                       (before the window)
#             2026-11-18 10:00  s1 page /  10:01 /products/sneakers  10:02 click
#                                  (not signed in yet: no user id on these)
#             2026-11-19 09:00  s2 page /cart  09:01 /checkout  09:02 purchase 50.0
#        app  install i-ana before sign-in: 2026-11-17 08:00..08:10, 1 session, 4 events,
#                  screens Home 2, Product 1
#             user ana: 2026-11-17 09:00..09:20, 1 session, 3 events, screens Product, Search
#                       2026-11-20 11:50..12:00, 1 session, 3 events, screen Cart,
#                       1 purchase, revenue 20 EUR and 30 USD
#   cy   browser "b-cy", never identified
#        web  2026-11-20 11:00  s3 page /products/jacket  11:05 page /
#   dee  app only, all before the window: 2026-09-20 10:00..10:30, 2 sessions, 10 events,
#        1 purchase 5 EUR, screen Home 4; 09-30 23:50..23:59, 2 sessions, 8 events, 1 purchase
#        10 EUR; 10-01 00:00, 2 events of the session started the night before
#   eve  app only: 2026-10-10 10:00..10:40 (before the window), 2 sessions, 6 events, screen
#        Settings 5; 10-25 18:00..18:05, 1 session, 3 events, screen Home;
#        11-01 09:00..10:00, 2 sessions, 6 events, screens Home, Settings
WEB_LINK_ROWS = [link("ana", "b-ana", "2026-11-19 09:00")]
MOBILE_LINK_ROWS = [link("ana", "i-ana", "2026-11-17 09:00")]
SESSION_EVENT_ROWS = [
    web_event("w0", "2026-09-01 08:00", browser="b-ana", session="s0", page="/"),
    web_event("w1", "2026-11-18 10:00", browser="b-ana", session="s1", page="/"),
    web_event("w2", "2026-11-18 10:01", browser="b-ana", session="s1", page="/products/sneakers"),
    web_event(
        "w3",
        "2026-11-18 10:02",
        browser="b-ana",
        session="s1",
        event="click",
        path="/products/sneakers",
    ),
    web_event("w4", "2026-11-19 09:00", browser="b-ana", user="ana", session="s2", page="/cart"),
    web_event(
        "w5", "2026-11-19 09:01", browser="b-ana", user="ana", session="s2", page="/checkout"
    ),
    web_event(
        "w6",
        "2026-11-19 09:02",
        browser="b-ana",
        user="ana",
        session="s2",
        event="purchase",
        revenue=50.0,
        path="/checkout/complete",
    ),
    web_event("w7", "2026-11-20 11:00", browser="b-cy", session="s3", page="/products/jacket"),
    web_event("w8", "2026-11-20 11:05", browser="b-cy", session="s3", page="/"),
]
USER_DAYS_ROWS = [
    app_day(
        "i-ana",
        signed_in=False,
        first="2026-11-17 08:00",
        last="2026-11-17 08:10",
        sessions=1,
        events=4,
        screens={"Home": 2, "Product": 1},
    ),
    app_day(
        "ana",
        first="2026-11-17 09:00",
        last="2026-11-17 09:20",
        sessions=1,
        events=3,
        screens={"Product": 1, "Search": 1},
    ),
    app_day(
        "ana",
        first="2026-11-20 11:50",
        last="2026-11-20 12:00",
        sessions=1,
        events=3,
        purchases=1,
        revenue={"EUR": 20.0, "USD": 30.0},
        screens={"Cart": 1},
    ),
    app_day(
        "dee",
        first="2026-09-20 10:00",
        last="2026-09-20 10:30",
        sessions=2,
        events=10,
        purchases=1,
        revenue={"EUR": 5.0},
        screens={"Home": 4},
    ),
    app_day(
        "dee",
        first="2026-09-30 23:50",
        last="2026-09-30 23:59",
        sessions=2,
        events=8,
        purchases=1,
        revenue={"EUR": 10.0},
    ),
    app_day("dee", first="2026-10-01 00:00", last="2026-10-01 00:00", sessions=0, events=2),
    app_day(
        "eve",
        first="2026-10-10 10:00",
        last="2026-10-10 10:40",
        sessions=2,
        events=6,
        screens={"Settings": 5},
    ),
    app_day(
        "eve",
        first="2026-10-25 18:00",
        last="2026-10-25 18:05",
        sessions=1,
        events=3,
        screens={"Home": 1},
    ),
    app_day(
        "eve",
        first="2026-11-01 09:00",
        last="2026-11-01 10:00",
        sessions=2,
        events=6,
        screens={"Home": 1, "Settings": 1},
    ),
]


def publish_world(pipeline: Pipeline) -> None:
    """The small world above, in the four input tables."""
    pipeline.publish(WEB_LINKS, WEB_LINK_ROWS)
    pipeline.publish(MOBILE_LINKS, MOBILE_LINK_ROWS)
    pipeline.publish(SESSION_EVENTS, SESSION_EVENT_ROWS)
    pipeline.publish(USER_DAYS, USER_DAYS_ROWS)


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """This file's helpers and small world, for test modules (which cannot import it)."""
    return SimpleNamespace(
        at=at,
        link=link,
        web_event=web_event,
        app_day=app_day,
        make_pipeline=make_pipeline,
        publish_world=publish_world,
        WEB_LINKS=WEB_LINKS,
        MOBILE_LINKS=MOBILE_LINKS,
        SESSION_EVENTS=SESSION_EVENTS,
        USER_DAYS=USER_DAYS,
        SESSION_EVENT_ROWS=SESSION_EVENT_ROWS,
        USER_DAYS_ROWS=USER_DAYS_ROWS,
        SCHEMAS=SCHEMAS,
    )
