"""The official Segment and PostHog Python SDKs, unchanged, sending to the collector."""

import json
from datetime import UTC, datetime

import posthog
import segment.analytics as segment_analytics

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.testing import MOBILE, WEB, RunningCollector


def rows_by_event_id(lake: Lakehouse, table: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["event_id"]: row for row in lake.read(table).to_pylist()}


def test_segment_sdk_events_arrive_in_bronze_with_every_field(collector: RunningCollector) -> None:
    errors: list[object] = []
    client = segment_analytics.Client(
        collector.ios_key,
        host=collector.url,
        sync_mode=True,
        on_error=lambda e, _: errors.append(e),
    )
    happened = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    client.track(
        "user-1",
        "purchase",
        {"revenue": 9.99, "currency": "EUR"},
        context={"app": {"version": "2.3.0"}, "device": {"model": "iPhone15,2"}},
        timestamp=happened,
        message_id="m-track",
    )
    client.identify("user-1", {"plan": "pro", "email": "a@example.com"}, message_id="m-identify")
    client.screen("user-1", name="Checkout", properties={"items": 2}, message_id="m-screen")
    client.page(
        anonymous_id="anon-7", name="Pricing", properties={"path": "/pricing"}, message_id="m-page"
    )
    client.alias("anon-7", "user-1", message_id="m-alias")
    client.group("user-1", "acme", {"employees": 40}, message_id="m-group")
    client.flush()

    assert errors == []
    rows = rows_by_event_id(collector.lake, MOBILE)
    assert set(rows) == {"m-track", "m-identify", "m-screen", "m-page", "m-alias", "m-group"}
    track = rows["m-track"]
    assert (track["type"], track["event"], track["user_id"]) == ("track", "purchase", "user-1")
    assert json.loads(track["properties"]) == {"revenue": 9.99, "currency": "EUR"}
    context = json.loads(track["context"])
    assert context["app"] == {"version": "2.3.0"} and context["device"]["model"] == "iPhone15,2"
    assert context["library"]["name"] == "analytics-python"
    assert track["original_timestamp"] == happened
    assert track["sent_at"] is not None and track["source_id"] == "ios-app"
    assert track["wire_format"] == "segment"
    assert json.loads(track["raw"])["messageId"] == "m-track"
    assert json.loads(rows["m-identify"]["properties"]) == {"plan": "pro", "email": "a@example.com"}
    assert (rows["m-screen"]["type"], rows["m-screen"]["event"]) == ("screen", "Checkout")
    assert (rows["m-page"]["anonymous_id"], rows["m-page"]["user_id"]) == ("anon-7", None)
    assert json.loads(rows["m-alias"]["properties"]) == {"previousId": "anon-7"}
    assert rows["m-alias"]["user_id"] == "user-1"
    assert json.loads(rows["m-group"]["properties"]) == {
        "groupId": "acme",
        "traits": {"employees": 40},
    }


def test_segment_sdk_gzip_bodies_are_accepted(collector: RunningCollector) -> None:
    client = segment_analytics.Client(
        collector.web_key, host=collector.url, sync_mode=True, gzip=True
    )
    client.page(
        "user-2", name="Home", properties={"url": "https://shop.example/"}, message_id="gz-1"
    )
    client.flush()

    assert set(rows_by_event_id(collector.lake, WEB)) == {"gz-1"}


def test_posthog_sdk_events_arrive_in_bronze_with_every_field(collector: RunningCollector) -> None:
    client = posthog.Posthog(
        collector.web_key, host=collector.url, sync_mode=True, disable_geoip=True
    )
    happened = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    client.capture(
        "signup_clicked",
        distinct_id="user-3",
        properties={"button": "hero", "$current_url": "https://shop.example/"},
        timestamp=happened,
        uuid="00000000-0000-4000-8000-000000000001",
    )
    client.set(distinct_id="user-3", properties={"plan": "free"})
    client.alias("user-3", "anon-9")
    client.flush()
    client.shutdown()

    rows = list(rows_by_event_id(collector.lake, WEB).values())
    track = next(row for row in rows if row["event"] == "signup_clicked")
    assert track["event_id"] == "00000000-0000-4000-8000-000000000001"
    assert (track["type"], track["user_id"], track["wire_format"]) == ("track", "user-3", "posthog")
    assert json.loads(track["properties"])["button"] == "hero"
    context = json.loads(track["context"])
    assert context["page"]["url"] == "https://shop.example/"
    assert context["library"]["name"] == "posthog-python"
    assert "$lib" not in context and "$lib" not in json.loads(track["properties"])
    assert track["original_timestamp"] == happened
    identify = next(row for row in rows if row["type"] == "identify")
    assert (identify["user_id"], json.loads(identify["properties"])) == ("user-3", {"plan": "free"})
    alias = next(row for row in rows if row["type"] == "alias")
    assert alias["user_id"] == "user-3"
    assert len(rows) == 3
