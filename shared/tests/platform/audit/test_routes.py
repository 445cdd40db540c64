"""Through a running gateway: reads and logins land in the chain, `/admin/audit` searches and
verifies it, for callers holding `audit:read` only."""

from pathlib import Path
from urllib.parse import urlencode

import httpx2 as httpx
import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import AuditLog, verify
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

SUMMARY = "mobile_user_analytics.gold.user_summary"


def test_reads_and_logins_are_all_in_the_chain_after_a_clean_stop(
    sqlite_url: str, lake_root: Path
) -> None:
    Lakehouse(lake_root).append(
        SUMMARY, pa.table({"user_id": ["u1", "u2", "u3"], "events": [5, 3, 1]})
    )
    # Nothing is appended while the gateway runs: every entry rides on the shutdown's drain.
    settings = platform_settings(sqlite_url, lake_root, audit={"flush_interval_ms": 600_000})
    with running_gateway(settings) as gateway:
        admin = gateway.admin
        viewer = gateway.headers_for("vera", ["viewer"])
        refused = httpx.post(
            f"{gateway.url}/auth/token", data={"username": "admin", "password": "not-the-password"}
        )
        unmasked = [
            httpx.get(f"{gateway.url}/mobile/tables/user_summary", headers=admin) for _ in range(5)
        ]
        masked = [
            httpx.get(f"{gateway.url}/mobile/tables/user_summary", headers=viewer) for _ in range(3)
        ]
        assert AuditLog(gateway.services.store).head()[0] == 0, "appended before the shutdown"

    assert refused.status_code == 401
    assert {r.json()["rows"][0]["user_id"] for r in unmasked} == {"u1"}
    assert {r.json()["rows"][0]["user_id"] for r in masked} == {"***"}
    store = MetadataStore(sqlite_url)
    entries = [row.entry for row in AuditLog(store).rows()]
    reads = [
        (e.actor, e.method, e.route, e.table_name, e.row_count, e.pii)
        for e in entries
        if e.action == "data.read"
    ]
    route = "/mobile/tables/{table}"
    assert (
        reads
        == [("admin", "GET", route, SUMMARY, 3, True)] * 5
        + [("vera", "GET", route, SUMMARY, 3, False)] * 3
    )
    logins = [(e.actor, e.outcome) for e in entries if e.action == "auth.login"]
    assert logins == [("admin", "success"), ("vera", "success"), ("admin", "failure")]
    assert verify(store).ok
    store.dispose()


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit/verify"])
def test_the_audit_routes_need_audit_read(gateway: RunningGateway, path: str) -> None:
    url = f"{gateway.url}{path}"
    auditor = gateway.headers_for("ada", ["auditor"])
    viewer = gateway.headers_for("vera", ["viewer"])

    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=viewer).status_code == 403
    assert httpx.get(url, headers=auditor).status_code == 200
    assert httpx.get(url, headers=gateway.admin).status_code == 200


def search(gateway: RunningGateway, headers: dict[str, str], **params: object) -> httpx.Response:
    gateway.services.audit.flush()
    return httpx.get(f"{gateway.url}/admin/audit?{urlencode(params)}", headers=headers)


def test_search_filters_pages_and_records_its_own_reads(gateway: RunningGateway) -> None:
    auditor = gateway.headers_for("ada", ["auditor"])
    httpx.post(f"{gateway.url}/auth/token", data={"username": "nobody", "password": "guess-1"})

    newest = search(gateway, auditor, action="auth", limit=1).json()
    older = search(gateway, auditor, action="auth", limit=1, before=newest["next_before"]).json()
    failures = search(gateway, auditor, outcome="failure").json()
    own = search(gateway, auditor, actor="ada", action="auth.login").json()
    reads = search(gateway, auditor, action="audit.read").json()

    def who(page: dict[str, object]) -> list[tuple[str, str, str]]:
        return [(e["actor"], e["action"], e["outcome"]) for e in page["entries"]]  # type: ignore[attr-defined]

    assert who(newest) == [("nobody", "auth.login", "failure")]
    assert who(older) == [("ada", "auth.login", "success")]
    assert older["next_before"] is None
    assert who(failures) == [("nobody", "auth.login", "failure")]
    assert who(own) == [("ada", "auth.login", "success")]
    assert who(reads) == [("ada", "audit.read", "success")] * 4
    latest_read = reads["entries"][0]
    assert latest_read["detail"] == {"actor": "ada", "action": "auth.login"}
    assert (latest_read["route"], latest_read["row_count"]) == ("/admin/audit", 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
        ({"outcome": "maybe"}, "outcome"),
        ({"before": 0}, "query.before"),
        ({"before": 2**63}, "query.before"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "query.since"),
        ({"until": "9999-12-31"}, "query.until"),
        ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z"}, "until"),
        ({"actor": "x" * 201}, "actor"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(
    gateway: RunningGateway, params: dict[str, object], field: str
) -> None:
    response = search(gateway, gateway.admin, **params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_verify_names_the_first_bad_row_after_tampering(
    gateway_on_each_database: RunningGateway,
) -> None:
    gateway = gateway_on_each_database
    auditor = gateway.headers_for("ada", ["auditor"])
    for attempt in range(2):
        httpx.post(f"{gateway.url}/auth/token", data={"username": "eve", "password": f"p{attempt}"})
    gateway.services.audit.flush()
    url = f"{gateway.url}/admin/audit/verify"

    intact = httpx.get(url, headers=auditor).json()
    with gateway.services.store.engine.begin() as connection:
        connection.exec_driver_sql("update audit_log set actor = 'mallory' where seq = 2")
    tampered = httpx.get(url, headers=auditor).json()

    assert (intact["ok"], intact["rows_checked"], intact["head_seq"]) == (True, 3, 3)
    assert (tampered["ok"], tampered["first_bad_seq"], tampered["problem"]) == (
        False,
        2,
        "edited",
    )
    assert tampered["message"].startswith("row 2's content no longer matches its hash")


def test_verify_reports_a_deleted_head_and_the_repair_it_names_works(
    gateway_on_each_database: RunningGateway,
) -> None:
    gateway = gateway_on_each_database
    auditor = gateway.headers_for("ada", ["auditor"])
    gateway.services.audit.flush()
    url = f"{gateway.url}/admin/audit/verify"
    with gateway.services.store.engine.begin() as connection:
        connection.exec_driver_sql("delete from audit_chain_head where id = 1")

    response = httpx.get(url, headers=auditor)
    findings = response.json()["findings"]
    repair = findings[0]["message"].split("`")[3]  # insert into audit_chain_head ... values (...)
    with gateway.services.store.engine.begin() as connection:
        connection.exec_driver_sql(repair)
    gateway.services.audit.flush()
    repaired = httpx.get(url, headers=auditor).json()

    assert response.status_code == 200
    assert [(f["kind"], f["seq"]) for f in findings] == [("missing_head", None)]
    assert response.json()["ok"] is False
    assert repair.startswith("insert into audit_chain_head (id, seq, hash) values (1, ")
    assert repaired["ok"] is True, repaired["message"]
