"""mobile-user-analytics' models give the same rows on Spark (local mode) as on DuckDB, over a
small world in the image of the product's tests: two platforms and app versions, events before
and after sign-in, events from the app's server (no install, no device), an SDK-named session,
gaps on both sides of the session timeout and across midnight, screen calls, taps, crashes,
purchases in two currencies, a retried event, and a user back a week later (retention). The
second tick brings a retry and events a day late that reshape the first tick's sessions."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from spark_parity import (
    assert_spark_writes_what_duckdb_writes,
    lakes_on_both_engines,
    sql_models,
)

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from mobile_user_analytics.product import product

# Every model runs on both engines in two ticks: minutes in Spark's local mode, beyond the
# suite's default timeout (as for the web product's parity).
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

BRONZE = "mobile_user_analytics.bronze.app_events"


def at(clock: str, day: int = 20) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def app_event(
    event_id: str,
    when: datetime,
    name: str = "app_open",
    *,
    user: str | None = "ana",
    install: str | None = "ana-install",
    device: str | None = "ana-iphone",
    os_name: str = "iOS",
    version: str = "3.2.0",
    session: str | None = None,
    kind: str = "track",
    properties: dict[str, Any] | None = None,
    delay: timedelta = timedelta(seconds=1),
) -> dict[str, Any]:
    """A bronze row of one app event, as the collector writes it."""
    context: dict[str, Any] = {"app": {"version": version}, "os": {"name": os_name}}
    if device is not None:
        context["device"] = {"id": device}
    if session is not None:
        context["sessionId"] = session
    return {
        "event_id": event_id,
        "type": kind,
        "event": name,
        "user_id": user,
        "anonymous_id": install,
        "timestamp": when,
        "original_timestamp": when,
        "sent_at": when,
        "received_at": when + delay,
        "source_id": "ios-app" if os_name == "iOS" else "android-app",
        "wire_format": "segment",
        "context": json.dumps(context),
        "properties": json.dumps(properties or {}),
        "raw": "{}",
    }


def bo(event_id: str, when: datetime, name: str = "app_open", **fields: Any) -> dict[str, Any]:
    """An event of bo, on Android, signed in from the start."""
    fields = {"user": "bo", "install": "bo-install", "device": "bo-pixel", **fields}
    return app_event(event_id, when, name, os_name="Android", version="3.3.0", **fields)


retried = app_event("a3", at("08:10"), "tap")
FIRST_DELIVERY = [
    app_event("a1", at("08:00"), user=None),  # before sign-in: the install counts
    app_event("a2", at("08:05"), "Home", user=None, kind="screen"),
    retried,
    retried,
    app_event(
        "a4", at("08:20"), "Order Completed", properties={"revenue": 9.99, "currency": "eur"}
    ),
    app_event("a5", at("08:21"), "Order Completed", properties={"total": 5, "currency": "usd"}),
    app_event("a6", at("09:30"), "Screen Viewed", properties={"name": "cart"}),  # a new session
    app_event("a7", at("09:31"), "add_to_cart", install=None, device=None),  # from the server
    app_event("a8", at("23:50"), "crash", version="3.3.0"),
    app_event("a9", at("00:10", day=21), "Help Opened", version="3.3.0"),  # after midnight
    bo("b1", at("10:00"), session="sdk-1"),
    bo("b2", at("10:40"), "tap", session="sdk-1"),  # the SDK's session outlasts the timeout
    bo("b3", at("11:00"), "Application Backgrounded"),
    bo("b4", at("12:00", day=27), "Order Completed", properties={"value": 20, "currency": "EUR"}),
]
LATE_DELIVERY = [
    dict(retried, received_at=at("09:00", day=21)),
    app_event("a10", at("09:00"), "tap", delay=timedelta(days=1)),  # joins two sessions
    app_event("a11", at("08:30", day=19), delay=timedelta(days=2)),  # a day before the rest
    bo("b5", at("10:20"), "Product Added", delay=timedelta(days=1)),
]


def world(lake: Lakehouse) -> Iterator[None]:
    """Both deliveries, a tick after each."""
    for events in (FIRST_DELIVERY, LATE_DELIVERY):
        lake.append(BRONZE, pa.Table.from_pylist(events, ENVELOPE_SCHEMA))
        yield


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lakehouse]]:
    yield from lakes_on_both_engines(tmp_path_factory, product.model_graph(), world)


@pytest.mark.parametrize("table", sql_models(product.model_graph()))
def test_spark_writes_what_duckdb_writes(lakes: dict[str, Lakehouse], table: str) -> None:
    assert_spark_writes_what_duckdb_writes(lakes, table)
