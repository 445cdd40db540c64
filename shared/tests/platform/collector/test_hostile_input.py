"""What a hostile fuzz sent the collector: values no SDK sends must cost their own item only,
never a batch, never a plain-text 500, and no write key may reach the lake."""

import asyncio
import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from dataplatform.core.config import CollectorLimits
from dataplatform.core.connectors.bus import EmbeddedBus
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.logging import JsonFormatter, log_context
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import (
    ClientIp,
    Collector,
    EventRouter,
    create_collector_app,
    from_segment,
    serve_in_background,
)
from dataplatform.platform.gateway import create_app
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import (
    MOBILE,
    MOBILE_QUARANTINE,
    WEB,
    WEB_QUARANTINE,
    platform_settings,
    running_gateway,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the collector's clock in every test here
LIMITS = CollectorLimits(max_event_bytes=4096, max_body_bytes=256 * 1024, max_batch_events=50)


@dataclass
class Running:
    url: str
    lake: Lakehouse
    lake_root: Path
    collector: Collector
    ios_key: str
    web_key: str


def build_collector(tmp_path: Path, lake: Lakehouse) -> tuple[Collector, str, str]:
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    sources = SourceRegistry(store)
    _, ios_key = sources.create("ios-app", "ios", "mobile-user-analytics")
    _, web_key = sources.create("website", "web", "web-user-analytics")
    collector = Collector(
        LIMITS, sources, EmbeddedBus(lake), EventRouter(discover_products()), clock=lambda: NOW
    )
    return collector, ios_key, web_key


@pytest.fixture
def running(tmp_path: Path, lake_root: Path, lake: Lakehouse) -> Iterator[Running]:
    """The real collector app on loopback, its clock frozen at `NOW`."""
    collector, ios_key, web_key = build_collector(tmp_path, lake)
    with serve_in_background(create_collector_app(collector)) as url:
        yield Running(url, lake, lake_root, collector, ios_key, web_key)


def track(**overrides: object) -> dict[str, object]:
    return {"type": "track", "event": "tap", "userId": "u1", **overrides}


def post(running: Running, path: str, body: Any, key: str | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = (key, "") if key else None
    return httpx.post(f"{running.url}{path}", content=content, auth=auth, timeout=60, **kwargs)


def bronze_ids(running: Running, table: str = MOBILE) -> list[str]:
    if not running.lake.exists(table):
        return []
    return sorted(running.lake.read(table)["event_id"].to_pylist())


def quarantine(running: Running, table: str = MOBILE_QUARANTINE) -> list[dict[str, Any]]:
    if not running.lake.exists(table):
        return []
    return running.lake.read(table).sort_by("batch_index").to_pylist()


def with_nested(item: dict[str, object], field: str, levels: int) -> bytes:
    """`item` as JSON, with `{"deep": [[[...]]]}` (`levels` lists) in `field`.

    Written as text: Python's own encoders give up long before orjson's reader does.
    """
    deep = b'{"deep": ' + b"[" * levels + b"]" * levels + b"}"
    return json.dumps({**item, field: "DEEP"}).encode().replace(b'"DEEP"', deep)


# 1. Timestamps and skew corrections outside what a datetime can hold, or outside the window.


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, "timestamp", "outside the years 1 to 9999"),
        ({"timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp", "outside the years 1 to 9999"),
        (
            {"timestamp": "0001-01-02T00:00:00Z", "sentAt": "9999-12-30T00:00:00Z"},
            "sentAt",
            "no device clock is that wrong",
        ),
        ({"timestamp": "1999-12-31T23:59:59Z"}, "timestamp", "outside the accepted 2000-01-01"),
        ({"timestamp": "2026-11-21T12:00:01Z"}, "timestamp", "to 2026-11-21T12:00:00+00:00"),
        (
            # The device's clock is 60 years slow, so the corrected time is 60 years ahead.
            {"timestamp": "2026-11-20T11:00:00Z", "sentAt": "1966-11-20T12:00:00Z"},
            "timestamp",
            "once corrected for the device's clock",
        ),
    ],
)
def test_a_timestamp_out_of_range_is_quarantined_and_its_batch_stored(
    running: Running, fields: dict[str, str], field: str, reason: str
) -> None:
    body = {"batch": [track(messageId="good-1"), track(messageId="bad", **fields), track()]}

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.status_code == 200
    [rejected] = response.json()["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, field)
    assert reason in rejected["reason"]
    assert len(bronze_ids(running)) == 2 and "good-1" in bronze_ids(running)
    [stored] = quarantine(running)
    assert (stored["batch_index"], stored["field"], stored["reason"]) == (
        1,
        field,
        rejected["reason"],
    )
    assert json.loads(stored["raw"])["messageId"] == "bad"


def test_timestamps_inside_the_window_are_kept_skew_corrected(running: Running) -> None:
    body = {
        "batch": [
            track(messageId="first-day", timestamp="2000-01-01T00:00:00Z"),
            track(messageId="a-day-ahead", timestamp="2026-11-21T12:00:00Z"),
            # A device clock ten years fast: the corrected time is an hour before NOW.
            track(
                messageId="fast-clock",
                timestamp="2036-11-20T11:00:00Z",
                sentAt="2036-11-20T12:00:00Z",
            ),
        ]
    }

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.json() == {"success": True}
    rows = {row["event_id"]: row["timestamp"] for row in running.lake.read(MOBILE).to_pylist()}
    assert rows["fast-clock"].replace(tzinfo=UTC) == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def test_the_window_is_configurable(tmp_path: Path, lake: Lakehouse) -> None:
    collector, ios_key, _ = build_collector(tmp_path, lake)
    collector.limits = CollectorLimits(
        earliest_event_time=datetime(2026, 1, 1, tzinfo=UTC), max_event_time_ahead=0
    )
    body = {
        "batch": [
            track(messageId="last-year", timestamp="2025-12-31T23:00:00Z"),
            track(messageId="ahead", timestamp="2026-11-20T12:00:01Z"),
            track(messageId="now", timestamp="2026-11-20T12:00:00Z"),
        ]
    }
    with serve_in_background(create_collector_app(collector)) as url:
        response = httpx.post(f"{url}/v1/batch", json=body, auth=(ios_key, ""), timeout=60)

    assert [r["index"] for r in response.json()["rejected"]] == [0, 1]
    assert lake.read(MOBILE)["event_id"].to_pylist() == ["now"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", track(timestamp="0001-01-01T00:00:00+01:00"), "timestamp"),
        ("/v1/track", track(timestamp="2000-01-01T00:00:00Z", sentAt="9999-01-01T00:00:00Z"), "sentAt"),
        ("/capture/", {"event": "e", "distinct_id": "u", "timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),
        ("/capture/", {"event": "e", "distinct_id": "u", "timestamp": "1990-01-01T00:00:00Z"}, "timestamp"),
    ],
)  # fmt: skip
def test_a_single_event_out_of_range_is_400_naming_the_field(
    running: Running, path: str, body: dict[str, Any], field: str
) -> None:
    key = running.ios_key if path.startswith("/v1") else None
    if key is None:
        body = {"api_key": running.web_key, **body}

    response = post(running, path, body, key)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert bronze_ids(running) == bronze_ids(running, WEB) == []


def test_a_posthog_sent_at_far_from_the_timestamp_is_quarantined_as_sent_at(
    running: Running,
) -> None:
    body = {
        "api_key": running.web_key,
        "batch": [
            {"event": "e", "distinct_id": "u", "uuid": "good"},
            {
                "event": "e",
                "distinct_id": "u",
                "timestamp": "0001-01-02T00:00:00Z",
                "sent_at": "9999-12-30T00:00:00Z",
            },
        ],
    }

    response = post(running, "/batch", body)

    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(1, "sent_at")]
    assert bronze_ids(running, WEB) == ["good"]
    assert [q["field"] for q in quarantine(running, WEB_QUARANTINE)] == ["sent_at"]


# 1. Nesting that orjson reads but cannot write back.


@pytest.mark.parametrize("levels", [63, 253, 1000])
@pytest.mark.parametrize("field", ["properties", "context", "custom"])
def test_an_item_nested_too_deep_is_quarantined_with_a_writable_clipped_raw(
    running: Running, field: str, levels: int
) -> None:
    deep = with_nested(track(messageId="deep"), field, levels)  # 2 + levels deep
    body = b'{"batch": [' + json.dumps(track(messageId="good")).encode() + b", " + deep + b"]}"

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.status_code == 200
    [rejected] = response.json()["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, field)
    assert "deeper than the limit of 64 levels" in rejected["reason"]
    assert bronze_ids(running) == ["good"]
    [stored] = quarantine(running)
    assert stored["field"] == field
    assert "what is nested deeper than 64 levels is clipped" in stored["reason"]
    raw = json.loads(stored["raw"])
    assert raw["messageId"] == "deep"
    clipped = raw[field]["deep"]
    for _ in range(62):  # the item is level 1, its field 2, the list levels 3 to 64
        [clipped] = clipped
    assert clipped == "<clipped: nested too deep>"


def test_an_item_at_the_depth_limit_is_stored(running: Running) -> None:
    body = b'{"batch": [' + with_nested(track(messageId="at-limit"), "properties", 62) + b"]}"

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.json() == {"success": True}
    assert bronze_ids(running) == ["at-limit"]


def test_a_single_event_nested_too_deep_is_400_naming_field_and_limit(running: Running) -> None:
    response = post(running, "/v1/track", with_nested(track(), "properties", 300), running.ios_key)

    assert response.status_code == 400
    problem = response.json()
    assert (problem["field"], problem["limit"], problem["limit_name"]) == (
        "properties",
        64,
        "max_event_depth",
    )
    assert "64 levels" in problem["detail"]


# The last net: an error nobody expected while normalising one item.


def test_an_unexpected_error_normalising_an_item_quarantines_it_logged_and_counted(
    running: Running,
) -> None:
    def normalise(item: Any, received_at: datetime, source: str, sent_at: Any, _: Any) -> Any:
        if item.get("messageId") == "trap":
            raise KeyError("a bug")
        return from_segment(item, received_at=received_at, source_id=source)

    source = running.collector.sources.lookup(running.ios_key)
    assert source is not None
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("dataplatform.platform.collector._app")
    logger.addHandler(handler)
    failures = (
        "dataplatform_collector_item_failures_total",
        {"source": "ios-app", "error": "KeyError"},
    )
    before = REGISTRY.get_sample_value(*failures) or 0
    try:
        with log_context(request_id="req-trap-1"):
            rejected = asyncio.run(
                running.collector.accept(
                    source,
                    [track(messageId="ok"), track(messageId="trap")],
                    normalise,
                    None,
                    wire_format="segment",
                    single=False,
                    client_ip=ClientIp("full", None),
                )
            )
    finally:
        logger.removeHandler(handler)

    assert [(r["index"], r["field"]) for r in rejected] == [(1, "item")]
    assert "the collector raised KeyError" in rejected[0]["reason"]
    assert bronze_ids(running) == ["ok"]
    assert quarantine(running)[0]["reason"] == rejected[0]["reason"]
    assert REGISTRY.get_sample_value(*failures) == before + 1
    [line] = [json.loads(line) for line in lines]
    assert line["request_id"] == "req-trap-1" and "KeyError" in line["exception"]


# Request-level failures: always problem+json with the request id, never Starlette's text page.


def with_a_broken_route(app: FastAPI) -> FastAPI:
    async def broken() -> None:
        raise ZeroDivisionError("secret internals")

    app.add_api_route("/v1/broken", broken, methods=["POST"])
    return app


def assert_internal_error_problem(response: httpx.Response, request_id: str) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == request_id
    assert response.json()["type"] == "/problems/internal_error"
    assert response.json()["request_id"] == request_id
    assert "secret internals" not in response.text and "Traceback" not in response.text


def internal_errors(service: str) -> float:
    labels = {"service": service, "error": "ZeroDivisionError"}
    return REGISTRY.get_sample_value("dataplatform_http_internal_errors_total", labels) or 0


def test_the_collector_alone_answers_an_unexpected_error_with_a_problem(
    tmp_path: Path, lake: Lakehouse, caplog: pytest.LogCaptureFixture
) -> None:
    collector, _, _ = build_collector(tmp_path, lake)
    app = with_a_broken_route(create_collector_app(collector))
    before = internal_errors("collector")
    with serve_in_background(app) as url, caplog.at_level(logging.ERROR):
        response = httpx.post(f"{url}/v1/broken", headers={"X-Request-ID": "trace-41"})
        refused = httpx.post(f"{url}/v1/track", content=b"{")  # invalid JSON, no key
        wrong_method = httpx.get(f"{url}/v1/batch")

    assert_internal_error_problem(response, "trace-41")
    assert internal_errors("collector") == before + 1
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)
    for answer, status in ((refused, 400), (wrong_method, 405)):
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
    assert wrong_method.headers["allow"] == "POST"


def test_the_gateway_answers_an_unexpected_collector_error_with_a_problem(
    tmp_path: Path, lake: Lakehouse
) -> None:
    settings = platform_settings(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path / "lake")
    collector, _, _ = build_collector(tmp_path, lake)
    before = internal_errors("collector")
    with running_gateway(settings) as gateway:
        app = create_app(
            gateway.services,
            title="t",
            service="test",
            routers=[],
            products=[],
            collector=with_a_broken_route(create_collector_app(collector)),
        )
        with serve_in_background(app) as url:
            response = httpx.post(f"{url}/v1/broken", headers={"X-Request-ID": "trace-42"})

    assert_internal_error_problem(response, "trace-42")
    assert response.headers.get_list("x-request-id") == ["trace-42"]  # echoed once
    assert internal_errors("collector") == before + 1


# 5. Write keys never reach the lake.


def test_write_keys_are_stored_nowhere_in_the_lake(running: Running) -> None:
    requests = [
        ("/v1/track", track(messageId="s1", writeKey=running.ios_key), None),
        ("/v1/batch", {"writeKey": running.ios_key, "batch": [track(writeKey=running.ios_key)]}, None),
        ("/v1/batch", {"batch": [track(properties={"writeKey": running.ios_key}), {"bad": 1, "writeKey": running.ios_key}]}, running.ios_key),
        ("/capture/", {"api_key": running.web_key, "event": "e", "distinct_id": "u"}, None),
        ("/e/", [{"event": "e", "distinct_id": "u", "properties": {"token": running.web_key, "$current_url": "https://x.test/"}}], None),
        ("/batch", {"api_key": running.web_key, "batch": [{"event": "e", "distinct_id": "u", "api_key": running.web_key, "properties": {"token": running.web_key}}, {"event": "no user", "properties": {"token": running.web_key}}]}, None),
    ]  # fmt: skip

    for path, body, key in requests:
        assert post(running, path, body, key).status_code == 200, path

    assert len(bronze_ids(running)) == 3 and len(bronze_ids(running, WEB)) == 3
    assert len(quarantine(running)) == 1 and len(quarantine(running, WEB_QUARANTINE)) == 1
    files = [path for path in running.lake_root.rglob("*") if path.is_file()]
    assert any("_delta_log" in path.parts for path in files)
    assert any(path.suffix == ".parquet" for path in files)
    for secret in (running.ios_key, running.web_key):
        assert [path for path in files if secret.encode() in path.read_bytes()] == []
        for table in (MOBILE, WEB, MOBILE_QUARANTINE, WEB_QUARANTINE):
            for row in running.lake.read(table).to_pylist():
                assert secret not in json.dumps(row, default=str), f"a write key is in {table}"
    for row in running.lake.read(WEB).to_pylist():
        assert "token" not in json.loads(row["properties"] or "{}")


# 6. Gzip bodies of several members, and bytes after the gzip stream.


def test_every_member_of_a_multi_member_gzip_body_is_read(running: Running) -> None:
    first = gzip.compress(b'{"batch": [' + json.dumps(track(messageId="m1")).encode())
    second = gzip.compress(b", " + json.dumps(track(messageId="m2")).encode() + b"]}")

    response = post(
        running, "/v1/batch", first + second, running.ios_key, headers={"Content-Encoding": "gzip"}
    )

    assert response.status_code == 200
    assert bronze_ids(running) == ["m1", "m2"]


def test_members_together_are_held_to_the_decompressed_limit(running: Running) -> None:
    half = b" " * (LIMITS.max_body_bytes // 2 + 10)
    body = gzip.compress(b'{"batch": []' + half) + gzip.compress(half + b"}")

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.status_code == 413
    assert "max_body_bytes (decompressed)" in response.json()["detail"]


def test_bytes_after_the_gzip_stream_are_refused_naming_why(running: Running) -> None:
    body = gzip.compress(json.dumps({"batch": [track()]}).encode()) + b"trailing garbage"

    response = post(running, "/v1/batch", body, running.ios_key)

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid_gzip"
    assert "16 bytes after the end of its gzip data" in response.json()["detail"]
    assert bronze_ids(running) == []
