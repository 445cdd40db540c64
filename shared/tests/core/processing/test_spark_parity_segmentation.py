"""user-segmentation's models give the same rows on Spark (local mode) as on DuckDB, over the
small world of the product's tests, written straight into the gold tables it reads from web and
mobile: a person seen on the web before and after sign-in and in the app before and after it,
a browser never identified, app-only people inside and before the feature window, purchases in
two currencies, and two rule segments. The second tick brings late web events, a sign-in that
links the anonymous browser to a user, and a later app day that moves the window."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from spark_parity import (
    assert_spark_writes_what_duckdb_writes,
    lakes_on_both_engines,
    sql_models,
)

from dataplatform.core.connectors.lakehouse import Lakehouse
from user_segmentation.product import product
from user_segmentation.storage import SEGMENT_DEFINITIONS_SCHEMA, ensure_written_tables

# Every model runs on both engines in two ticks: minutes in Spark's local mode, beyond the
# suite's default timeout (as for the web product's parity).
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

CONTEXT = product.context()
TIME = pa.timestamp("us", tz="UTC")
WEB_LINKS = "web_user_analytics.gold.identity_links"
MOBILE_LINKS = "mobile_user_analytics.gold.identity_links"
SESSION_EVENTS = "web_user_analytics.gold.session_events"
USER_DAYS = "mobile_user_analytics.gold.user_days"
LINKS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("first_linked_at", TIME),
        ("last_linked_at", TIME),
    ]
)
SCHEMAS = {
    WEB_LINKS: LINKS_SCHEMA,
    MOBILE_LINKS: LINKS_SCHEMA,
    SESSION_EVENTS: pa.schema(
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
    ),
    USER_DAYS: pa.schema(
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
            ("revenue", pa.list_(pa.struct([("currency", pa.string()), ("amount", pa.float64())]))),
            ("screens", pa.map_(pa.string(), pa.int64())),
        ]
    ),
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def link(user: str, anonymous: str, when: str) -> dict[str, Any]:
    return {
        "user_id": user,
        "anonymous_id": anonymous,
        "first_linked_at": at(when),
        "last_linked_at": at(when),
    }


def web(
    event_id: str, when: str, browser: str, session: str, page: str, **fields: Any
) -> dict[str, Any]:
    """A page view of `page`; with `event`, a tracked event on it (a `purchase` with revenue)."""
    event = fields.get("event")
    return {
        "event_id": event_id,
        "session_id": session,
        "visitor_id": browser,
        "user_id": fields.get("user"),
        "timestamp": at(when),
        "event": event or page,
        "is_pageview": event is None,
        "is_conversion": event == "purchase",
        "revenue": fields.get("revenue"),
        "path": page,
    }


def app_day(
    key: str, first: str, last: str, sessions: int, events: int, **fields: Any
) -> dict[str, Any]:
    """A day of mobile's user_days (that of `first`) of a signed-in user, or of an install."""
    revenue: dict[str, float] = fields.get("revenue", {})
    return {
        "user_id": key,
        "signed_in": fields.get("signed_in", True),
        "day": at(first).date(),
        "platform": fields.get("platform", "ios"),
        "first_seen": at(first),
        "last_seen": at(last),
        "sessions": sessions,
        "events": events,
        "purchases": fields.get("purchases", 0),
        "revenue": [{"currency": c, "amount": a} for c, a in sorted(revenue.items())],
        "screens": sorted(fields.get("screens", {}).items()),
    }


def definition(segment_id: str, rule: str) -> dict[str, Any]:
    created = at("2026-11-01 00:00")
    return {
        "segment_id": segment_id,
        "name": segment_id,
        "description": None,
        "definition": rule,
        "version": 1,
        "created_by": "test",
        "created_at": created,
        "updated_by": "test",
        "updated_at": created,
        "deleted_at": None,
    }


FIRST_TICK = {
    WEB_LINKS: [link("ana", "b-ana", "2026-11-19 09:00")],
    MOBILE_LINKS: [link("ana", "i-ana", "2026-11-17 09:00")],
    SESSION_EVENTS: [
        web("w0", "2026-09-01 08:00", "b-ana", "s0", "/"),  # before the window
        web("w1", "2026-11-18 10:00", "b-ana", "s1", "/"),  # before sign-in
        web("w2", "2026-11-18 10:01", "b-ana", "s1", "/products/sneakers"),
        web("w3", "2026-11-18 10:02", "b-ana", "s1", "/products/sneakers", event="click"),
        web("w4", "2026-11-19 09:00", "b-ana", "s2", "/cart", user="ana"),
        web("w5", "2026-11-19 09:01", "b-ana", "s2", "/checkout", user="ana"),
        web(
            "w6",
            "2026-11-19 09:02",
            "b-ana",
            "s2",
            "/done",
            user="ana",
            event="purchase",
            revenue=50.0,
        ),
        web("w7", "2026-11-20 11:00", "b-cy", "s3", "/products/jacket"),  # never identified
        web("w8", "2026-11-20 11:05", "b-cy", "s3", "/"),
    ],
    USER_DAYS: [
        app_day(
            "i-ana",
            "2026-11-17 08:00",
            "2026-11-17 08:10",
            1,
            4,
            signed_in=False,
            screens={"Home": 2},
        ),
        app_day(
            "ana", "2026-11-17 09:00", "2026-11-17 09:20", 1, 3, screens={"Product": 1, "Search": 1}
        ),
        app_day(
            "ana",
            "2026-11-20 11:50",
            "2026-11-20 12:00",
            1,
            3,
            purchases=1,
            revenue={"EUR": 20.0, "USD": 30.0},
            screens={"Cart": 1},
        ),
        app_day(
            "dee", "2026-09-20 10:00", "2026-09-20 10:30", 2, 10, purchases=1, revenue={"EUR": 5.0}
        ),
        app_day(
            "eve",
            "2026-10-25 18:00",
            "2026-10-25 18:05",
            1,
            3,
            platform="android",
            screens={"Home": 1},
        ),
        app_day("eve", "2026-11-01 09:00", "2026-11-01 10:00", 2, 6, platform="android"),
    ],
}
LATE_TICK = {
    WEB_LINKS: [link("ana", "b-ana", "2026-11-19 09:00"), link("cy", "b-cy", "2026-11-21 08:00")],
    MOBILE_LINKS: FIRST_TICK[MOBILE_LINKS],
    SESSION_EVENTS: [
        *FIRST_TICK[SESSION_EVENTS],
        web("w9", "2026-11-18 10:03", "b-ana", "s1", "/products/boots"),  # late, in s1
        web("w10", "2026-11-21 08:00", "b-cy", "s4", "/account", user="cy"),
        web(
            "w11",
            "2026-11-21 08:01",
            "b-cy",
            "s4",
            "/done",
            user="cy",
            event="purchase",
            revenue=8.0,
        ),
    ],
    USER_DAYS: [
        *FIRST_TICK[USER_DAYS],
        app_day("eve", "2026-11-21 07:00", "2026-11-21 07:30", 1, 2, platform="android"),
    ],
}
DEFINITIONS = [
    definition("frequent", '{"feature": "frequency", "op": ">=", "value": 2}'),
    definition("buyers", '{"feature": "purchases", "op": ">", "value": 0}'),
]


def world(lake: Lakehouse) -> Iterator[None]:
    """The segment definitions, then both ticks' inputs, a tick after each."""
    ensure_written_tables(lake, CONTEXT)
    lake.append(
        CONTEXT.table("gold.segment_definitions"),
        pa.Table.from_pylist(DEFINITIONS, SEGMENT_DEFINITIONS_SCHEMA),
    )
    for inputs in (FIRST_TICK, LATE_TICK):
        for table, rows in inputs.items():  # replaced whole, as the producers' models do
            data = pa.Table.from_pylist(rows, SCHEMAS[table])
            lake.overwrite(table, data) if lake.exists(table) else lake.append(table, data)
        yield


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lakehouse]]:
    yield from lakes_on_both_engines(tmp_path_factory, product.model_graph(), world)


# When the run that took a person in ran: the clock's, not the data's.
RUN_TIME = {"user_segmentation.gold.segment_membership": ["entered_at"]}


@pytest.mark.parametrize("table", sql_models(product.model_graph()))
def test_spark_writes_what_duckdb_writes(lakes: dict[str, Lakehouse], table: str) -> None:
    assert_spark_writes_what_duckdb_writes(lakes, table, RUN_TIME.get(table, []))
