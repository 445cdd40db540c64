"""Every path and body the official browser SDKs use, against the real collector app and lake.

The shapes follow what @segment/analytics-next 1.84.3, posthog-js 1.449.2 and
@rudderstack/analytics-js 3.34.1 send; the real SDKs in Chromium are driven in `browser/`.
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from dataplatform.core.config import CollectorLimits
from dataplatform.core.connectors.bus import EmbeddedBus
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import (
    Collector,
    EventRouter,
    collector_app,
    create_collector_app,
)
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import WEB, platform_settings

SHOP = "https://shop.example"
TEXT = {"Content-Type": "text/plain", "Origin": SHOP}
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": SHOP}
VISITOR = ("203.0.113.77", 50123)  # TEST-NET-3: the address the browser connects from


@dataclass
class Wire:
    client: TestClient
    lake: Lakehouse
    web_key: str
    server_key: str

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["event_id"]: row for row in self.lake.read(WEB).to_pylist()}


def _sources(store: MetadataStore) -> tuple[str, str]:
    store.upgrade()
    sources = SourceRegistry(store)
    _, web_key = sources.create("website", "web", "web-user-analytics")
    _, server_key = sources.create("backend", "server", "web-user-analytics")
    return web_key, server_key


@pytest.fixture
def wire(lake: Lakehouse, tmp_path: Path) -> Iterator[Wire]:
    """The collector app with default limits (client IP truncated), two web sources."""
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    web_key, server_key = _sources(store)
    collector = Collector(
        CollectorLimits(),
        SourceRegistry(store),
        EmbeddedBus(lake),
        EventRouter(discover_products()),
    )
    with TestClient(create_collector_app(collector), client=VISITOR) as client:
        yield Wire(client, lake, web_key, server_key)
    store.dispose()


def segment_item(event_type: str, message_id: str, **fields: Any) -> dict[str, Any]:
    """An item as analytics-next's `normalize` leaves it (`writeKey` in it, `sentAt`)."""
    return {
        "type": event_type,
        "messageId": message_id,
        "anonymousId": "anon-1",
        "timestamp": "2026-03-02T10:00:00.000Z",
        "sentAt": "2026-03-02T10:00:00.100Z",
        "context": {
            "page": {"path": "/pricing", "url": f"{SHOP}/pricing", "referrer": ""},
            "userAgent": "Mozilla/5.0",
            "library": {"name": "analytics.js", "version": "npm:next-1.84.3"},
        },
        "integrations": {},
        **fields,
    }


# 1. Segment analytics-next


def test_analytics_next_short_paths_take_text_plain_bodies_with_the_key_inside(
    wire: Wire,
) -> None:
    sent = {
        "t": segment_item("track", "m-t", event="Order Completed", properties={"revenue": 20}),
        "p": segment_item("page", "m-p", name="Pricing", properties={"path": "/pricing"}),
        "i": segment_item("identify", "m-i", userId="u-1", traits={"plan": "pro"}),
        "g": segment_item("group", "m-g", userId="u-1", groupId="acme", traits={"seats": 3}),
        "a": segment_item("alias", "m-a", userId="u-1", previousId="anon-1"),
        "s": segment_item("screen", "m-s", name="Home"),
    }

    answers = {
        path: wire.client.post(
            f"/v1/{path}", content=json.dumps({**item, "writeKey": wire.web_key}), headers=TEXT
        )
        for path, item in sent.items()
    }

    assert {path: answer.json() for path, answer in answers.items()} == {
        path: {"success": True} for path in sent
    }
    assert answers["t"].headers["access-control-allow-origin"] == SHOP
    rows = wire.rows()
    assert {rows[f"m-{p}"]["type"] for p in sent} == {
        "track",
        "page",
        "identify",
        "group",
        "alias",
        "screen",
    }
    assert rows["m-t"]["event"] == "Order Completed"
    assert json.loads(rows["m-i"]["properties"]) == {"plan": "pro"}
    assert "writeKey" not in json.loads(rows["m-t"]["raw"])


def test_analytics_next_batches_post_to_v1_b_with_one_sent_at(wire: Wire) -> None:
    items = [
        segment_item("page", "b-1", name="Home"),
        segment_item("track", "b-2", event="Clicked"),
    ]
    for item in items:
        del item["sentAt"]  # the batching dispatcher keeps a single one, on the batch
    body = {"writeKey": wire.web_key, "batch": items, "sentAt": "2026-03-02T10:00:05.000Z"}

    answer = wire.client.post("/v1/b", content=json.dumps(body), headers=TEXT)

    assert answer.json() == {"success": True}
    assert set(wire.rows()) == {"b-1", "b-2"}


def test_analytics_next_settings_point_it_here_with_telemetry_off(wire: Wire) -> None:
    answer = wire.client.get(f"/v1/projects/{wire.web_key}/settings", headers={"Origin": SHOP})

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    settings = answer.json()
    assert settings["integrations"] == {
        "Segment.io": {"apiKey": wire.web_key, "apiHost": "testserver/v1", "protocol": "http"}
    }
    assert settings["metrics"] == {"sampleRate": 0}
    assert settings["remotePlugins"] == []


def test_settings_for_an_unknown_key_are_a_404_problem(wire: Wire) -> None:
    answer = wire.client.get("/v1/projects/not-a-key/settings", headers={"Origin": SHOP})

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unknown_write_key"
    assert answer.headers["access-control-allow-origin"] == SHOP


# 2. RudderStack JS v3


def rudder_item(event_type: str, message_id: str, **fields: Any) -> dict[str, Any]:
    """An item as RudderStack's browser SDK sends it: its own name in `context.app`."""
    context = {
        "app": {"name": "RudderLabs JavaScript SDK", "namespace": "com.rudderlabs.javascript"},
        "library": {"name": "RudderLabs JavaScript SDK", "version": "3.34.1"},
        "page": {"path": "/", "url": f"{SHOP}/", "referrer": "$direct"},
        "traits": {"email": "ada@example.com", "plan": "pro"},
        "userAgent": "Mozilla/5.0",
    }
    return {
        "type": event_type,
        "messageId": message_id,
        "anonymousId": "anon-r",
        "userId": "u-r",
        "channel": "web",
        "originalTimestamp": "2026-03-02T10:00:00.000Z",
        "context": context,
        "integrations": {"All": True},
        **fields,
    }


def test_rudderstack_beacon_batches_take_the_key_from_the_query(wire: Wire) -> None:
    body = {
        "batch": [rudder_item("identify", "r-i"), rudder_item("track", "r-t", event="Signed Up")],
        "sentAt": "2026-03-02T10:00:01.000Z",
    }

    answer = wire.client.post(
        f"/beacon/v1/batch?writeKey={wire.web_key}", content=json.dumps(body), headers=TEXT
    )

    assert answer.json() == {"success": True}
    rows = wire.rows()
    # Its identify carries the traits in `context.traits` only.
    assert json.loads(rows["r-i"]["properties"]) == {"email": "ada@example.com", "plan": "pro"}
    assert rows["r-t"]["event"] == "Signed Up"


def test_a_server_source_routes_a_browser_event_by_its_page_not_its_app(wire: Wire) -> None:
    answer = wire.client.post(
        "/v1/page",
        json=rudder_item("page", "r-p", name="Home"),
        auth=(wire.server_key, ""),
    )

    assert answer.json() == {"success": True}
    assert wire.rows()["r-p"]["source_id"] == "backend"  # in the web product's clickstream


def test_rudderstack_source_config_lets_the_sdk_load_with_no_destinations(wire: Wire) -> None:
    known = wire.client.get(
        f"/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey={wire.web_key}",
        headers={"Origin": SHOP},
    )
    unknown = wire.client.get("/sourceConfig/?p=npm&writeKey=nope", headers={"Origin": SHOP})

    source = known.json()["source"]
    assert (source["id"], source["enabled"], source["destinations"]) == ("website", True, [])
    assert source["config"]["statsCollection"]["errors"] == {"enabled": False}
    assert known.headers["access-control-allow-origin"] == SHOP
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


# 3. posthog-js


def posthog_event(token: str, uuid: str, event: str = "$pageview", **properties: Any) -> dict:  # type: ignore[type-arg]
    """An event as posthog-js 1.449.2 captures it, bookkeeping included."""
    return {
        "uuid": uuid,
        "event": event,
        "timestamp": "2026-03-02T10:00:00.000Z",
        "properties": {
            "token": token,
            "distinct_id": "anon-p",
            "$device_id": "anon-p",
            "$current_url": f"{SHOP}/cart",
            "$pathname": "/cart",
            "$referrer": "$direct",
            "$browser": "Chrome",
            "$lib": "web",
            "$lib_version": "1.449.2",
            "$insert_id": "x1y2",
            "$time": 1772445600.0,
            "$configured_session_timeout_ms": 1800000,
            "$lib_rate_limit_remaining_tokens": 99,
            "$sdk_debug_retry_queue_size": 0,
            "$sdk_dist_channel": "npm",
            "$autocapture_disabled_server_side": False,
            "$process_person_profile": False,
            "$is_identified": False,
            "gclid": None,
            "utm_source": None,
            "utm_medium": "email",
            **properties,
        },
        "offset": 12,
    }


def base64_form(events: list[dict]) -> str:  # type: ignore[type-arg]
    encoded = base64.b64encode(json.dumps(events).encode()).decode()
    return "data=" + quote(encoded, safe="")


def test_posthog_js_beacons_a_base64_form_as_the_page_closes(wire: Wire) -> None:
    events = [posthog_event(wire.web_key, "p-1"), posthog_event(wire.web_key, "p-2", "$pageleave")]

    answer = wire.client.post(
        "/e/?compression=base64&ver=1.449.2", content=base64_form(events), headers=FORM
    )

    assert answer.json() == {"status": 1}
    assert set(wire.rows()) == {"p-1", "p-2"}


def test_posthog_js_form_without_compression_holds_plain_json(wire: Wire) -> None:
    body = "data=" + quote(json.dumps([posthog_event(wire.web_key, "p-3")]), safe="")

    answer = wire.client.post("/e/?ver=1.449.2", content=body, headers=FORM)

    assert answer.json() == {"status": 1}
    assert set(wire.rows()) == {"p-3"}


def test_an_unknown_compression_is_refused_naming_what_is_accepted(wire: Wire) -> None:
    answer = wire.client.post(
        "/e/?compression=lz64",
        content=base64_form([posthog_event(wire.web_key, "p")]),
        headers=FORM,
    )

    assert answer.status_code == 400
    problem = answer.json()
    assert (problem["type"], problem["field"]) == (
        "/problems/unsupported_compression",
        "compression",
    )
    assert problem["accepted"] == ["gzip-js", "gzip", "base64"]
    assert "'lz64'" in problem["detail"]
    assert wire.lake.exists(WEB) is False or wire.rows() == {}


def test_posthog_bookkeeping_stays_in_raw_and_autocapture_is_kept(wire: Wire) -> None:
    click = posthog_event(
        wire.web_key,
        "p-click",
        "$autocapture",
        **{
            "$event_type": "click",
            "$elements_chain": 'button.buy:text="Buy"nth-child="1"nth-of-type="1"',
            "$el_text": "Buy",
        },
    )

    wire.client.post("/e/?compression=base64", content=base64_form([click]), headers=FORM)

    row = wire.rows()["p-click"]
    properties = json.loads(row["properties"])
    context = json.loads(row["context"])
    # posthog-js's own id before `identify` (`$is_identified: false`) is no user id.
    assert (row["type"], row["event"], row["user_id"], row["anonymous_id"]) == (
        "track",
        "$autocapture",
        None,
        "anon-p",
    )
    assert properties == {
        "utm_medium": "email",
        "$event_type": "click",
        "$elements_chain": 'button.buy:text="Buy"nth-child="1"nth-of-type="1"',
        "$el_text": "Buy",
    }
    assert context["library"] == {"name": "web", "version": "1.449.2"}
    assert context["page"] == {
        "url": f"{SHOP}/cart",
        "path": "/cart",
        "referrer": "$direct",
        "title": None,
    }
    for bookkeeping in (
        "$lib",
        "$insert_id",
        "$time",
        "$configured_session_timeout_ms",
        "$sdk_dist_channel",
        "$autocapture_disabled_server_side",
        "token",
    ):
        assert bookkeeping not in context and bookkeeping not in properties
    assert not any(key.startswith("$sdk_debug_") for key in context)
    assert json.loads(row["raw"])["properties"]["$insert_id"] == "x1y2"


def test_posthog_campaign_properties_become_segments_campaign_context(wire: Wire) -> None:
    # Web's silver reads `context.campaign` only: PostHog's shape is known here, nowhere else.
    pageview = posthog_event(wire.web_key, "p-utm", utm_campaign="spring", utm_term=None)

    wire.client.post("/e/?compression=base64", content=base64_form([pageview]), headers=FORM)

    row = wire.rows()["p-utm"]
    assert json.loads(row["context"])["campaign"] == {"medium": "email", "name": "spring"}
    assert json.loads(row["properties"]) == {"utm_medium": "email", "utm_campaign": "spring"}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/flags/?v=2&config=true", "/decide/?v=3", "/decide/?v=4"])
def test_flags_and_decide_answer_no_flags_for_any_token(wire: Wire, method: str, path: str) -> None:
    answer = wire.client.request(
        method, path, content=base64_form([{"token": "anyone"}]), headers=FORM
    )

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    flags = answer.json()
    assert flags["flags"] == {} and flags["errorsWhileComputingFlags"] is False
    if path.startswith("/decide"):
        assert flags["featureFlags"] == {}
        assert flags["autocapture_opt_out"] is False
        assert flags["sessionRecording"] is False and flags["siteApps"] == []


def test_posthog_remote_config_leaves_autocapture_on_and_loads_nothing_else(wire: Wire) -> None:
    config = wire.client.get(f"/array/{wire.web_key}/config", headers={"Origin": SHOP})
    script = wire.client.get(f"/array/{wire.web_key}/config.js")

    assert config.json()["token"] == wire.web_key
    assert config.json()["autocapture_opt_out"] is False
    for feature in ("sessionRecording", "surveys", "heatmaps", "captureDeadClicks"):
        assert config.json()[feature] is False
    assert config.json()["siteApps"] == []
    assert script.headers["content-type"].startswith("application/javascript")
    prefix = f'w._POSTHOG_REMOTE_CONFIG["{wire.web_key}"]='
    assignment = script.text.split(prefix, 1)[1].rsplit(";})();", 1)[0]
    assert json.loads(assignment) == {"config": config.json(), "siteApps": []}


def test_posthog_config_for_an_unknown_token_is_a_404_problem(wire: Wire) -> None:
    for path in ("/array/phc_unknown/config", "/array/phc_unknown/config.js"):
        answer = wire.client.get(path, headers={"Origin": SHOP})
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["access-control-allow-origin"] == SHOP


# 4. CORS


@pytest.mark.parametrize(
    "path",
    ["/v1/t", "/v1/b", "/beacon/v1/batch", "/e/", "/flags/", "/array/k/config", "/v1/nowhere"],
)
def test_every_collector_path_answers_its_preflight_for_any_origin(wire: Wire, path: str) -> None:
    answer = wire.client.options(
        path,
        headers={
            "Origin": "https://any.example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-retry-count",
        },
    )

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://any.example.net"
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["access-control-allow-headers"] == (
        "authorization, content-type, x-retry-count"
    )


def test_an_unknown_path_is_a_404_problem_a_browser_can_read(wire: Wire) -> None:
    answer = wire.client.post("/i/v9/nothing", content="{}", headers=TEXT)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["access-control-allow-origin"] == SHOP


# 5. The client's IP address


def test_the_connections_address_is_recorded_truncated_by_default(wire: Wire) -> None:
    wire.client.post(
        "/v1/t",
        content=json.dumps({**segment_item("track", "ip-1", event="e"), "writeKey": wire.web_key}),
        headers=TEXT,
    )
    wire.client.post(
        "/e/", content=json.dumps(posthog_event(wire.web_key, "ip-2")), headers={"Origin": SHOP}
    )

    rows = wire.rows()
    assert json.loads(rows["ip-1"]["context"])["ip"] == "203.0.113.0"
    assert json.loads(rows["ip-2"]["context"])["ip"] == "203.0.113.0"


def test_an_address_the_sdk_sent_is_truncated_in_context_and_in_raw(wire: Wire) -> None:
    item = segment_item("track", "ip-3", event="e")
    item["context"]["ip"] = "2001:db8:abcd:12:1:2:3:4"
    posthog = posthog_event(wire.web_key, "ip-4", **{"$ip": "198.51.100.23"})

    wire.client.post("/v1/track", json=item, auth=(wire.server_key, ""))
    wire.client.post("/e/", content=json.dumps(posthog))

    rows = wire.rows()
    assert json.loads(rows["ip-3"]["context"])["ip"] == "2001:db8:abcd::"
    assert json.loads(rows["ip-3"]["raw"])["context"]["ip"] == "2001:db8:abcd::"
    assert json.loads(rows["ip-4"]["context"])["ip"] == "198.51.100.0"
    assert json.loads(rows["ip-4"]["raw"])["properties"]["$ip"] == "198.51.100.0"


@pytest.mark.parametrize(
    ("policy", "peer", "expected"),
    [
        ("full", "127.0.0.1", "198.51.100.23"),  # a trusted proxy names the client
        ("full", "192.0.2.9", "192.0.2.9"),  # anyone else's X-Forwarded-For is ignored
        ("truncated", "127.0.0.1", "198.51.100.0"),
        ("none", "127.0.0.1", None),
    ],
)
def test_the_collector_served_alone_believes_only_its_trusted_proxies(
    tmp_path: Path, policy: str, peer: str, expected: str | None
) -> None:
    database = f"sqlite:///{tmp_path / 'metadata.db'}"
    settings = platform_settings(
        database,
        tmp_path / "lake",
        collector={"client_ip": policy},
        gateway={"trusted_proxies": ["127.0.0.1"]},
    )
    store = MetadataStore(database)
    web_key, _ = _sources(store)
    item = {**segment_item("track", "proxied", event="e"), "writeKey": web_key}

    with TestClient(collector_app(settings), client=(peer, 40000)) as client:
        answer = client.post(
            "/v1/t", content=json.dumps(item), headers={**TEXT, "X-Forwarded-For": "198.51.100.23"}
        )

    assert answer.json() == {"success": True}
    row = Lakehouse(tmp_path / "lake").read(WEB).to_pylist()[0]
    assert json.loads(row["context"]).get("ip") == expected
    store.dispose()
