"""The gateway's HTTP behaviour: request ids, compression, CORS, limits, errors, OpenAPI."""

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pyarrow as pa
import pytest
from fastapi import APIRouter

from dataplatform.core.access import ADMIN, require
from dataplatform.core.errors import TerminalError
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import serve_in_background
from dataplatform.platform.gateway import create_app
from dataplatform.platform.gateway._app import gateway_routers
from dataplatform.platform.services import Services
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

SUMMARY = "mobile_user_analytics.gold.user_summary"


def write_summaries(gateway: RunningGateway, users: int) -> None:
    rows = pa.table(
        {
            "user_id": [f"user-{index:04d}" for index in range(users)],
            "platform": ["ios" if index % 2 else "android" for index in range(users)],
            "events": list(range(users)),
        }
    )
    gateway.services.lake.append(SUMMARY, rows)


def test_each_response_carries_a_request_id_and_keeps_a_sane_client_one(
    gateway: RunningGateway,
) -> None:
    generated = httpx.get(f"{gateway.url}/health")
    kept = httpx.get(f"{gateway.url}/health", headers={"X-Request-ID": "client-abc.123"})
    replaced = httpx.get(f"{gateway.url}/health", headers={"X-Request-ID": "bad id\twith tab"})

    assert len(generated.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "client-abc.123"
    assert replaced.headers["x-request-id"] != "bad id\twith tab"
    problem = httpx.get(f"{gateway.url}/mobile/tables", headers={"X-Request-ID": "trace-7"})
    assert problem.json()["request_id"] == "trace-7"


def test_large_answers_are_gzipped_for_clients_that_accept_it(gateway: RunningGateway) -> None:
    write_summaries(gateway, 300)
    url = f"{gateway.url}/mobile/tables/user_summary?limit=300"

    zipped = httpx.get(url, headers={**gateway.admin, "Accept-Encoding": "gzip"})
    plain = httpx.get(url, headers={**gateway.admin, "Accept-Encoding": "identity"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() and len(zipped.json()["rows"]) == 300


@pytest.fixture
def strict_gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'metadata.db'}",
        tmp_path / "lake",
        gateway={
            "cors_origins": ["https://console.example.com"],
            "rate_limit": "3/minute",
            "anonymous_rate_limit": "2/minute",
        },
    )
    with running_gateway(settings) as gateway:
        yield gateway


def test_cors_allows_configured_origins_and_any_origin_on_collector_paths(
    strict_gateway: RunningGateway,
) -> None:
    def preflight(path: str, origin: str) -> httpx.Response:
        return httpx.options(
            f"{strict_gateway.url}{path}",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    console = preflight("/auth/token", "https://console.example.com")
    stranger = preflight("/auth/token", "https://evil.example.net")
    website = preflight("/v1/batch", "https://shop.example.org")

    assert console.headers["access-control-allow-origin"] == "https://console.example.com"
    assert "access-control-allow-origin" not in stranger.headers
    assert website.headers["access-control-allow-origin"] == "https://shop.example.org"


def test_every_path_under_the_collectors_prefixes_is_the_collectors(
    strict_gateway: RunningGateway,
) -> None:
    """analytics-next's `/v1/t` and a mistyped path alike: CORS for any origin, never the
    gateway's "Disallowed CORS origin" (400), so a browser shows what is really wrong."""
    shop = "https://shop.example.org"
    short_path = httpx.options(
        f"{strict_gateway.url}/v1/t",
        headers={
            "Origin": shop,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization, x-retry-count",
        },
    )
    mistyped = httpx.post(f"{strict_gateway.url}/v1/trak", json={}, headers={"Origin": shop})
    flags = httpx.post(f"{strict_gateway.url}/flags/?v=2", json={}, headers={"Origin": shop})

    assert short_path.status_code == 200
    assert short_path.headers["access-control-allow-origin"] == shop
    assert "x-retry-count" in short_path.headers["access-control-allow-headers"]
    assert mistyped.status_code == 404
    assert mistyped.headers["content-type"] == "application/problem+json"
    assert mistyped.headers["access-control-allow-origin"] == shop
    assert flags.json()["flags"] == {}
    # The gateway's own paths keep the gateway's CORS.
    assert (
        "access-control-allow-origin"
        not in httpx.get(f"{strict_gateway.url}/health", headers={"Origin": shop}).headers
    )


def test_each_credential_is_limited_with_retry_after(strict_gateway: RunningGateway) -> None:
    ana = strict_gateway.headers_for("ana", ["viewer"])
    bob = strict_gateway.headers_for("bob", ["viewer"])

    answers = [httpx.get(f"{strict_gateway.url}/auth/me", headers=ana) for _ in range(4)]
    other = httpx.get(f"{strict_gateway.url}/auth/me", headers=bob)

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["type"] == "/problems/rate_limited"
    assert other.status_code == 200  # the limit is per credential


def test_login_attempts_are_limited_per_client(strict_gateway: RunningGateway) -> None:
    wrong = {"username": "admin", "password": "guessing-again"}

    answers = [httpx.post(f"{strict_gateway.url}/auth/token", data=wrong) for _ in range(4)]

    # A sliding-window counter weighs the previous minute by how much of it is still in the
    # window: hits straddling a minute's end may let one more through, never two.
    codes = [answer.status_code for answer in answers]
    assert codes[:2] == [401, 401] and 429 in codes[2:], codes
    assert all("retry-after" in a.headers for a in answers if a.status_code == 429)


def test_errors_are_problem_documents_naming_what_is_wrong(gateway: RunningGateway) -> None:
    admin = gateway.admin

    unknown_route = httpx.get(f"{gateway.url}/nowhere", headers=admin)
    bad_query = httpx.get(f"{gateway.url}/mobile/tables/user_summary?limit=0", headers=admin)
    bad_cursor = httpx.get(f"{gateway.url}/mobile/tables/user_summary?cursor=zzz", headers=admin)
    unknown_table = httpx.get(f"{gateway.url}/mobile/tables/user_sumary", headers=admin)

    for response in (unknown_route, bad_query, bad_cursor, unknown_table):
        assert response.headers["content-type"] == "application/problem+json"
    assert unknown_route.status_code == 404
    assert bad_query.status_code == 422 and bad_query.json()["field"] == "query.limit"
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "query.cursor"
    assert unknown_table.status_code == 404
    assert "Did you mean `user_summary`?" in unknown_table.json()["detail"]


def test_an_unexpected_error_answers_500_without_a_stack_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = platform_settings(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "lake")
    with running_gateway(settings) as gateway:
        broken = APIRouter()

        @broken.get("/broken", dependencies=[require(ADMIN)])
        def explode() -> None:
            raise ZeroDivisionError("secret internals")

        app = create_app(
            gateway.services,
            title="t",
            service="test",
            routers=[*gateway_routers(), broken],
            products=[],
        )
        with serve_in_background(app) as url, caplog.at_level(logging.ERROR):
            response = httpx.get(f"{url}/broken", headers=gateway.admin)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)


def test_the_gateway_refuses_a_route_without_a_declared_permission(tmp_path: Path) -> None:
    from dataplatform.core.connectors.db import MetadataStore

    settings = platform_settings(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "lake")
    MetadataStore(settings.database_url).upgrade()
    services = Services.start(settings, [])
    careless = APIRouter(prefix="/careless")

    @careless.get("/open")
    def open_route() -> dict[str, str]:
        return {}

    with pytest.raises(TerminalError, match="these declare none: GET /careless/open"):
        create_app(services, title="t", service="t", routers=[careless], products=[])
    services.close()


def test_one_openapi_document_holds_every_api_with_its_permission(
    gateway: RunningGateway,
) -> None:
    document = httpx.get(f"{gateway.url}/openapi.json").json()
    paths = document["paths"]

    for product in discover_products():
        assert f"{product.prefix}/tables/{{table}}" in paths
    assert {"/v1/batch", "/batch", "/capture", "/auth/token", "/admin/users"} <= set(paths)
    assert paths["/admin/users"]["get"]["x-permission"] == "admin"
    assert paths["/mobile/tables"]["get"]["x-permission"] == "product:mobile-user-analytics:read"
    assert paths["/mobile/tables"]["get"]["security"] == [{"bearer": []}]
    assert paths["/health"]["get"]["x-permission"] == "public"
    assert "security" not in paths["/health"]["get"]
    assert "write key" in paths["/v1/batch"]["post"]["x-permission"]


def test_pages_of_a_growing_table_neither_skip_nor_repeat(gateway: RunningGateway) -> None:
    write_summaries(gateway, 5)
    url = f"{gateway.url}/mobile/tables/user_summary"

    first = httpx.get(url, params={"limit": 2}, headers=gateway.admin).json()
    write_summaries(gateway, 3)  # the table grows between pages
    seen = [row["events"] for row in first["rows"]]
    cursor = first["next_cursor"]
    while cursor:
        page = httpx.get(url, params={"limit": 2, "cursor": cursor}, headers=gateway.admin).json()
        assert page["version"] == first["version"]
        seen += [row["events"] for row in page["rows"]]
        cursor = page["next_cursor"]

    assert sorted(seen) == [0, 1, 2, 3, 4]


def test_gateway_serves_every_installed_product(gateway: RunningGateway) -> None:
    ready = httpx.get(f"{gateway.url}/ready").json()

    assert sorted(ready["products"]) == sorted(p.name for p in discover_products())
    assert ready["platform"]["metadata_store"]["status"] == "ok"
    assert ready["platform"]["audit_writer"]["status"] == "ok"


def test_the_gateway_answers_the_collector_paths(gateway: RunningGateway) -> None:
    _, key = gateway.services.sources.create("site", "web", "web-user-analytics")
    event = {"type": "page", "name": "Home", "anonymousId": "a1", "messageId": "m-1"}

    response = httpx.post(f"{gateway.url}/v1/page", json=event, auth=(key, ""))

    assert response.status_code == 200
    rows = gateway.services.lake.read("web_user_analytics.bronze.clickstream").to_pylist()
    assert [row["event_id"] for row in rows] == ["m-1"]
