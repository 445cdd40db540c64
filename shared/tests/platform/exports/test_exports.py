"""Scheduled exports through a real gateway and the platform's export job: each period once to
a folder (resumed after a failure, never twice) or to a signed webhook on loopback, PII masked,
dead letters recorded, every period audited."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.platform.exports import Exports, run_due_exports
from dataplatform.platform.exports import _run as export_run
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

SUMMARY = "mobile_user_analytics.gold.user_summary"
DAY = datetime(2026, 11, 20, tzinfo=UTC)
SECRET = "an-export-secret-of-some-length"


@dataclass
class World:
    gateway: RunningGateway
    root: Path
    analyst: dict[str, str]

    def export(self, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        return httpx.post(f"{self.gateway.url}/exports", json=body, headers=headers or self.analyst)

    def run(self, now: datetime) -> dict[str, int]:
        services = self.gateway.services
        return run_due_exports(
            Exports(services.store),
            services.lake,
            services.sandbox,
            services.catalog.pii_columns,
            services.audit_log,
            now=now,
        )

    def runs(self, name: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.gateway.url}/exports/{name}/runs", headers=self.analyst)
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["runs"]
        return runs


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("exports")
    root = folder / "exports"
    settings = platform_settings(
        f"sqlite:///{folder / 'platform.db'}", folder / "lake", query={"exports_root": str(root)}
    )
    with running_gateway(settings) as gateway:
        seen = [DAY + timedelta(hours=h) for h in (9, 10, 30, 55)]  # two on the 20th, 21st, 22nd
        gateway.services.lake.append(
            SUMMARY,
            pa.table(
                {
                    "user_id": ["ann", "bob", "cid", "dan"],
                    "events": [1, 2, 3, 4],
                    "last_seen": pa.array(seen, pa.timestamp("us", "UTC")),
                }
            ),
        )
        yield World(gateway, root, gateway.headers_for("ana", ["analyst"]))


def daily(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "source": {"table": SUMMARY, "time_column": "last_seen"},
        "period": "day",
        "starts_at": DAY.isoformat(),
        **extra,
    }


def test_each_day_goes_to_one_file_with_pii_masked(world: World) -> None:
    assert world.export(**daily("daily", folder="daily")).status_code == 201

    first = world.run(DAY + timedelta(days=3, minutes=10))
    again = world.run(DAY + timedelta(days=3, minutes=20))

    files = sorted((world.root / "daily" / "daily").iterdir())
    assert [f.name for f in files] == [
        "2026-11-20T000000Z.parquet",
        "2026-11-21T000000Z.parquet",
        "2026-11-22T000000Z.parquet",
    ]
    assert [pq.read_table(f).to_pylist() for f in files] == [
        [
            {"user_id": "***", "events": 1, "last_seen": DAY + timedelta(hours=9)},
            {"user_id": "***", "events": 2, "last_seen": DAY + timedelta(hours=10)},
        ],
        [{"user_id": "***", "events": 3, "last_seen": DAY + timedelta(hours=30)}],
        [{"user_id": "***", "events": 4, "last_seen": DAY + timedelta(hours=55)}],
    ]
    assert first == {"daily": 3} and again["daily"] == 0
    assert [run["rows"] for run in world.runs("daily")] == [1, 1, 2]  # latest first


def test_a_period_not_over_is_not_exported(world: World) -> None:
    world.export(**daily("early", folder="early"))

    world.run(DAY + timedelta(days=1, minutes=2))  # the 20th ended, but late events may come

    assert not (world.root / "early" / "early").exists()


def test_an_export_interrupted_resumes_without_duplicates(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.export(**daily("resumed", folder="resumed", format="csv"))
    deliver = export_run._deliver
    calls: list[datetime] = []

    def fails_on_the_second_day(
        export: Any, start: datetime, end: datetime, rows: Any, options: Any
    ) -> str:
        if export.name != "resumed":
            return deliver(export, start, end, rows, options)
        calls.append(start)
        if start == DAY + timedelta(days=1):
            raise OSError("disk full")
        return deliver(export, start, end, rows, options)

    monkeypatch.setattr(export_run, "_deliver", fails_on_the_second_day)
    world.run(DAY + timedelta(days=3, minutes=10))
    after_failure = {run["period_start"][:10]: run["status"] for run in world.runs("resumed")}
    # The third day's file is written, then the run is cut before it is recorded.
    deliver(
        Exports(world.gateway.services.store).get("resumed"),
        DAY + timedelta(days=2),
        DAY + timedelta(days=3),
        pa.table({"x": [1]}),
        None,
    )
    monkeypatch.setattr(export_run, "_deliver", deliver)
    world.run(DAY + timedelta(days=3, minutes=20))

    assert after_failure == {"2026-11-20": "done", "2026-11-21": "failed"}
    assert calls == [DAY, DAY + timedelta(days=1)]  # nothing after the failed day
    files = sorted(p.name for p in (world.root / "resumed" / "resumed").iterdir())
    assert files == [
        "2026-11-20T000000Z.csv",
        "2026-11-21T000000Z.csv",
        "2026-11-22T000000Z.csv",
    ]
    third = (world.root / "resumed" / "resumed" / files[2]).read_text().splitlines()
    assert third == ['"user_id","events","last_seen"', '"***",4,2026-11-22 07:00:00.000000Z']
    statuses = [
        (run["period_start"][:10], run["status"], run["attempts"]) for run in world.runs("resumed")
    ]
    assert statuses == [
        ("2026-11-22", "done", 1),
        ("2026-11-21", "done", 2),
        ("2026-11-20", "done", 1),
    ]


@dataclass
class Receiver:
    failures: int
    tries: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str, ThreadingHTTPServer]]:
    got = Receiver(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.tries += 1
            if got.tries <= got.failures:
                self.send_response(503)
                self.end_headers()
                return
            stamp = self.headers["X-Dataplatform-Timestamp"]
            expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
            got.accepted.append(
                {
                    "body": json.loads(body),
                    "delivery": self.headers["X-Dataplatform-Delivery"],
                    "signed": self.headers["X-Dataplatform-Signature"]
                    == f"sha256={expected.hexdigest()}",
                }
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield got, f"http://127.0.0.1:{server.server_address[1]}/in", server
    server.shutdown()


def test_a_webhook_gets_each_period_once_signed_through_failures(
    world: World,
    receiver: tuple[Receiver, str, ThreadingHTTPServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got, url, _ = receiver
    monkeypatch.setenv("EXPORT_SECRET", SECRET)
    world.export(**daily("hooked", webhook=url, secret_env="EXPORT_SECRET"))

    world.run(DAY + timedelta(days=1, minutes=10))
    world.run(DAY + timedelta(days=1, minutes=20))

    assert got.tries == 3  # two 503s, then accepted; the second round sends nothing
    (accepted,) = got.accepted
    assert accepted["signed"] and accepted["delivery"] == "hooked:2026-11-20T000000Z:0"
    assert [row["events"] for row in accepted["body"]["rows"]] == [1, 2]
    assert {row["user_id"] for row in accepted["body"]["rows"]} == {"***"}


def test_a_webhook_that_never_accepts_ends_in_the_dead_letters(
    world: World, receiver: tuple[Receiver, str, ThreadingHTTPServer]
) -> None:
    got, url, _ = receiver
    got.failures = 10**6
    world.export(**daily("refused", webhook=url))

    for minute in range(export_run.MAX_ATTEMPTS):
        world.run(DAY + timedelta(days=2, minutes=10 + minute))

    runs = {
        run["period_start"][:10]: (run["status"], run["attempts"]) for run in world.runs("refused")
    }
    # The 20th died after its last try; only then was the 21st tried (once so far).
    assert runs == {"2026-11-20": ("dead", 5), "2026-11-21": ("failed", 1)}


def test_a_saved_query_is_exported_and_every_period_audited(world: World) -> None:
    sql = f"select count(*) as people, sum(events) as events from {SUMMARY}"
    saved = httpx.post(
        f"{world.gateway.url}/query/saved",
        json={"name": "totals", "sql": sql},
        headers=world.analyst,
    )
    assert saved.status_code == 201, saved.text
    assert (
        world.export(
            **{**daily("totals", folder="totals"), "source": {"query": "totals"}}
        ).status_code
        == 201
    )

    world.run(DAY + timedelta(days=1, minutes=10))

    (file,) = (world.root / "totals" / "totals").iterdir()
    assert pq.read_table(file).to_pylist() == [{"people": 4, "events": 10}]
    audited = world.gateway.services.audit_log.search(action="export.run").rows
    assert ("ana", "totals") in {(a.entry.actor, a.entry.detail["export"]) for a in audited}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (daily("both", folder="x", webhook="https://example.org/in"), 422, "body"),
        (daily("neither"), 422, "body"),
        (daily("../up", folder="x"), 422, "body.name"),
        (daily("escape", folder="../../etc"), 422, "body.folder"),
        (
            {**daily("no-col", folder="x"), "source": {"table": SUMMARY, "time_column": "nope"}},
            422,
            "body.source.time_column",
        ),
        (
            {**daily("no-table", folder="x"), "source": {"table": "a.gold.b"}},
            422,
            "body.source.table",
        ),
        (daily("pii", folder="x", include_pii=True), 403, None),
    ],
)
def test_a_bad_export_is_refused_naming_what(
    world: World, body: dict[str, Any], status: int, field: str | None
) -> None:
    response = world.export(**body)

    assert response.status_code == status, response.text
    if field:
        assert response.json()["field"] == field


def test_making_an_export_needs_query_run(world: World) -> None:
    viewer = world.gateway.headers_for("vex", ["viewer"])

    assert world.export(viewer, **daily("viewer", folder="v")).status_code == 403
    assert httpx.get(f"{world.gateway.url}/exports", headers=viewer).status_code == 200
