"""What browser SDKs need (CORS, text/plain beacons, gzip-js), envelope rules, and routing."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from dataplatform.testing import MOBILE, WEB, RunningCollector


def test_preflight_is_answered_for_any_origin(collector: RunningCollector) -> None:
    response = httpx.options(
        f"{collector.url}/v1/batch",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )

    assert response.status_code == 200
    # Echoed with credentials allowed: `sendBeacon` always sends credentials, and `*` would not do.
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type, authorization"


def test_a_text_plain_beacon_with_the_key_in_the_body_is_accepted(
    collector: RunningCollector,
) -> None:
    body = {
        "writeKey": collector.web_key,
        "type": "page",
        "anonymousId": "a1",
        "name": "Home",
        "messageId": "beacon",
    }

    response = httpx.post(
        f"{collector.url}/v1/page",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": "https://shop.example"},
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert collector.lake.read(WEB)["event_id"].to_pylist() == ["beacon"]


def test_posthog_js_gzip_js_bodies_are_accepted(collector: RunningCollector) -> None:
    events = [
        {
            "event": "$pageview",
            "properties": {
                "distinct_id": "a2",
                "token": collector.web_key,
                "$current_url": "https://shop.example/p",
            },
        },
    ]

    response = httpx.post(
        f"{collector.url}/e/?compression=gzip-js&ver=1.200.0",
        content=gzip.compress(json.dumps(events).encode()),
        headers={"Content-Type": "text/plain"},
    )

    assert response.json() == {"status": 1}
    row = collector.lake.read(WEB).to_pylist()[0]
    assert (row["type"], row["event"], row["user_id"]) == ("page", "$pageview", "a2")


def test_batch_context_and_integrations_are_merged_into_each_item(
    collector: RunningCollector,
) -> None:
    body = {
        "batch": [
            {"type": "track", "event": "a", "userId": "u", "messageId": "1"},
            {
                "type": "track",
                "event": "b",
                "userId": "u",
                "messageId": "2",
                "context": {"app": {"version": "9"}},
            },
        ],
        "context": {"app": {"version": "1"}, "os": {"name": "iOS"}},
        "integrations": {"All": False},
    }

    httpx.post(f"{collector.url}/v1/batch", json=body, auth=(collector.ios_key, ""))

    rows = {row["event_id"]: row for row in collector.lake.read(MOBILE).to_pylist()}
    # `ip`: the connection's (127.0.0.1), truncated to its /24 by default.
    assert json.loads(rows["1"]["context"]) == {
        "app": {"version": "1"},
        "os": {"name": "iOS"},
        "ip": "127.0.0.0",
    }
    assert json.loads(rows["2"]["context"]) == {
        "app": {"version": "9"},
        "os": {"name": "iOS"},
        "ip": "127.0.0.0",
    }
    assert json.loads(rows["1"]["raw"])["integrations"] == {"All": False}


def test_timestamps_are_corrected_for_the_client_clock_skew(collector: RunningCollector) -> None:
    # The device clock runs one hour fast: it says it sent at 11:00 an event made at 10:59:30.
    body = {
        "batch": [
            {
                "type": "track",
                "event": "tap",
                "userId": "u",
                "messageId": "skew",
                "timestamp": "2026-11-25T10:59:30Z",
            }
        ],
        "sentAt": "2026-11-25T11:00:00Z",
    }
    before = datetime.now(UTC)
    httpx.post(f"{collector.url}/v1/batch", json=body, auth=(collector.ios_key, ""))

    row = collector.lake.read(MOBILE).to_pylist()[0]
    assert row["timestamp"] == row["received_at"] - timedelta(seconds=30)
    assert row["received_at"] >= before.replace(microsecond=0)
    assert row["original_timestamp"] == datetime(2026, 11, 25, 10, 59, 30, tzinfo=UTC)


def test_missing_message_ids_are_generated(collector: RunningCollector) -> None:
    httpx.post(
        f"{collector.url}/v1/track",
        json={"event": "tap", "userId": "u"},
        auth=(collector.ios_key, ""),
    )

    (event_id,) = collector.lake.read(MOBILE)["event_id"].to_pylist()
    assert len(event_id) == 36


def test_server_events_are_routed_by_their_context(collector: RunningCollector) -> None:
    body = {
        "batch": [
            {
                "type": "track",
                "event": "refund",
                "userId": "u",
                "messageId": "app",
                "context": {"app": {"name": "shop"}},
            },
            {
                "type": "page",
                "name": "Docs",
                "userId": "u",
                "messageId": "page",
                "context": {"page": {"url": "https://x/docs"}},
            },
            {"type": "identify", "userId": "u", "messageId": "neither"},
        ]
    }

    httpx.post(f"{collector.url}/v1/batch", json=body, auth=(collector.server_key, ""))

    assert collector.lake.read(MOBILE)["event_id"].to_pylist() == ["app"]
    assert sorted(collector.lake.read(WEB)["event_id"].to_pylist()) == ["neither", "page"]


def test_a_gzip_body_is_recognised_by_its_magic_bytes_alone(collector: RunningCollector) -> None:
    body = {"batch": [{"type": "track", "event": "tap", "userId": "u", "messageId": "zipped"}]}

    response = httpx.post(
        f"{collector.url}/v1/batch",
        content=gzip.compress(json.dumps(body).encode()),
        auth=(collector.ios_key, ""),
    )

    assert response.status_code == 200
    assert collector.lake.read(MOBILE)["event_id"].to_pylist() == ["zipped"]
