"""Each way a request or an item can be wrong, and what the collector answers and stores."""

import gzip
import json
import time
import tracemalloc

import httpx2 as httpx
import pytest

from dataplatform.testing import MOBILE, MOBILE_QUARANTINE, WEB, RunningCollector


def track(**overrides: object) -> dict[str, object]:
    return {"type": "track", "event": "tap", "userId": "u1", **overrides}


def stored(collector: RunningCollector, table: str) -> int:
    return collector.lake.read(table).num_rows if collector.lake.exists(table) else 0


def post(collector: RunningCollector, path: str, body: object, key: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = (key, "") if key else None
    return httpx.post(f"{collector.url}{path}", content=content, auth=auth, timeout=30, **kwargs)


def test_body_over_the_limit_is_413_naming_it_and_stores_nothing(
    collector: RunningCollector,
) -> None:
    body = {"batch": [track(properties={"pad": "x" * 2000}) for _ in range(40)]}

    response = post(collector, "/v1/batch", body, collector.ios_key)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit_name"] == "max_body_bytes"
    assert response.json()["limit"] == 64 * 1024
    assert stored(collector, MOBILE) == 0


def test_a_gzip_bomb_is_refused_without_inflating_it(collector: RunningCollector) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (50 * 1024 * 1024) + b"]}")
    tracemalloc.start()
    try:
        response = post(
            collector, "/v1/batch", bomb, collector.ios_key, headers={"Content-Encoding": "gzip"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 413
    assert "max_body_bytes (decompressed)" in response.json()["detail"]
    assert peak < 5 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


def test_a_single_event_over_the_event_limit_is_413(collector: RunningCollector) -> None:
    response = post(
        collector, "/v1/track", track(properties={"blob": "y" * 5000}), collector.ios_key
    )

    assert response.status_code == 413
    assert response.json()["limit_name"] == "max_event_bytes"
    assert response.json()["limit"] == 4096
    assert stored(collector, MOBILE) == 0


def test_an_event_over_the_event_limit_in_a_batch_is_quarantined_clipped(
    collector: RunningCollector,
) -> None:
    body = {"batch": [track(messageId="good"), track(properties={"blob": "y" * 5000})]}

    response = post(collector, "/v1/batch", body, collector.ios_key)

    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(1, "item")]
    assert collector.lake.read(MOBILE)["event_id"].to_pylist() == ["good"]
    [quarantined] = collector.lake.read(MOBILE_QUARANTINE).to_pylist()
    assert quarantined["batch_index"] == 1
    assert "over the limit of 4096 bytes" in quarantined["reason"]
    assert "raw holds only its first 4096 characters" in quarantined["reason"]
    assert quarantined["raw"].startswith('{"type":"track"')
    assert len(quarantined["raw"]) == 4096


def test_too_many_events_in_a_batch_is_413(collector: RunningCollector) -> None:
    response = post(
        collector, "/v1/batch", {"batch": [track() for _ in range(51)]}, collector.ios_key
    )

    assert response.status_code == 413
    assert response.json()["limit_name"] == "max_batch_events"


def test_posthog_batch_has_its_own_larger_limit(collector: RunningCollector) -> None:
    events = [
        {"event": "tap", "distinct_id": "u1", "properties": {"pad": "z" * 3000}} for _ in range(30)
    ]
    body = {"api_key": collector.web_key, "batch": events}  # about 95 KB: over 64 KB, under 128 KB

    assert post(collector, "/batch/", body).status_code == 200
    assert (
        post(
            collector,
            "/e/",
            {"api_key": collector.web_key, **events[0], "properties": {"pad": "z" * 70000}},
        ).status_code
        == 413
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"\x1f\x8b\x08\x00garbage", "invalid_gzip"),
        (b"[1, 2]", "invalid_body"),
        (b'{"batch": "nope"}', "invalid_body"),
    ],
)
def test_unreadable_bodies_are_400(collector: RunningCollector, body: bytes, code: str) -> None:
    response = post(collector, "/v1/batch", body, collector.ios_key)

    assert response.status_code == 400
    assert response.json()["type"] == f"/problems/{code}"


def test_unknown_missing_and_revoked_keys_are_401(collector: RunningCollector) -> None:
    unknown = post(collector, "/v1/track", track(), "not-a-key")
    missing = post(collector, "/v1/track", track())
    collector.sources.revoke("ios-app")
    time.sleep(0.3)  # the fixture's lookup cache lives 0.2 s
    revoked = post(collector, "/v1/track", track(), collector.ios_key)

    assert [r.status_code for r in (unknown, missing, revoked)] == [401, 401, 401]
    assert unknown.json()["type"] == "/problems/invalid_write_key"
    assert missing.json()["type"] == "/problems/missing_write_key"
    assert stored(collector, MOBILE) == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"event": "tap"}, "userId"),
        ("/v1/track", {"userId": "u1"}, "event"),
        ("/v1/track", {"userId": "u1", "event": "tap", "timestamp": "yesterday"}, "timestamp"),
        ("/v1/alias", {"userId": "u1"}, "previousId"),
        ("/v1/identify", {"userId": "u1", "traits": "pro"}, "traits"),
    ],
)
def test_a_bad_single_segment_event_is_400_naming_the_field(
    collector: RunningCollector, path: str, body: dict[str, object], field: str
) -> None:
    response = post(collector, path, body, collector.ios_key)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert f"`{field}`" in response.json()["detail"]
    assert stored(collector, MOBILE) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "tap"}, "distinct_id"),
        ({"distinct_id": "u1"}, "event"),
        ({"event": "tap", "distinct_id": "u1", "timestamp": "13/45/2026"}, "timestamp"),
    ],
)
def test_a_bad_single_posthog_event_is_400_naming_the_field(
    collector: RunningCollector, body: dict[str, object], field: str
) -> None:
    response = post(collector, "/capture/", {"api_key": collector.web_key, **body})

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_bad_items_in_a_batch_go_to_quarantine_and_good_ones_to_bronze(
    collector: RunningCollector,
) -> None:
    body = {
        "batch": [
            track(messageId="good-1"),
            {"event": "tap", "userId": "u1"},  # no type
            track(userId=None, messageId="no-user"),
            track(messageId="good-2", timestamp="not a time"),
            track(messageId="good-3"),
        ]
    }

    response = post(collector, "/v1/batch", body, collector.ios_key)

    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert [(r["index"], r["field"]) for r in rejected] == [
        (1, "type"),
        (2, "userId"),
        (3, "timestamp"),
    ]
    assert sorted(collector.lake.read(MOBILE)["event_id"].to_pylist()) == ["good-1", "good-3"]
    quarantine = collector.lake.read(MOBILE_QUARANTINE).sort_by("batch_index").to_pylist()
    assert [(q["batch_index"], q["field"]) for q in quarantine] == [
        (1, "type"),
        (2, "userId"),
        (3, "timestamp"),
    ]
    assert quarantine[2]["reason"] == "`timestamp` is not an ISO 8601 timestamp: 'not a time'"
    assert json.loads(quarantine[0]["raw"]) == {"event": "tap", "userId": "u1"}
    assert quarantine[0]["wire_format"] == "segment"


def test_bad_items_in_a_posthog_batch_are_listed_and_quarantined(
    collector: RunningCollector,
) -> None:
    body = {
        "api_key": collector.web_key,
        "batch": [{"event": "tap", "distinct_id": "u1"}, {"event": "tap"}],
    }

    response = post(collector, "/batch", body)

    assert response.json() == {
        "status": 1,
        "rejected": [{"index": 1, "field": "distinct_id", "reason": "`distinct_id` is required"}],
    }
    assert stored(collector, WEB) == 1
    assert stored(collector, "web_user_analytics.quarantine.clickstream") == 1
