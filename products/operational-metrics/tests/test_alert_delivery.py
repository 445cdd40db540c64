"""Incidents delivered to webhook receivers on loopback: each alert once, signed, retried with
backoff through failures, resolutions after openings, silences honoured, dead letters recorded,
and the deliveries and silences served by the API."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.jobs import JobContext
from dataplatform.testing import platform_settings, running_gateway
from operational_metrics.alerts import deliver_alerts, signature_of
from operational_metrics.processing.incidents import INCIDENTS_SCHEMA
from operational_metrics.product import product

SECRET = "a-webhook-secret-of-some-length"
INCIDENTS = "operational_metrics.gold.incidents"
DELIVERIES = "operational_metrics.gold.alert_deliveries"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Receiver:
    """A webhook endpoint that answers 500 to the first `failures` tries of each delivery."""

    failures: int
    accepted: list[dict[str, Any]] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)
    url: str = ""


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    found = {"oncall": Receiver(failures=2), "chat": Receiver(failures=0), "down": Receiver(10**6)}
    servers = []
    for name, receiver in found.items():
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook/{name}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield found
    for server in servers:
        server.shutdown()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            delivery = self.headers["X-Dataplatform-Delivery"]
            receiver.tries[delivery] = receiver.tries.get(delivery, 0) + 1
            if receiver.tries[delivery] <= receiver.failures:
                self.send_response(500)
                self.end_headers()
                return
            receiver.accepted.append(
                {
                    "delivery": delivery,
                    "body": json.loads(body),
                    "signed": self.headers.get("X-Dataplatform-Signature")
                    == signature_of(SECRET, self.headers.get("X-Dataplatform-Timestamp", ""), body),
                }
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    return Handler


def incident(
    incident_id: str, slo: str, *, resolved: bool, product: str = "web-user-analytics"
) -> dict[str, Any]:
    opened = NOW - timedelta(minutes=30)
    return {
        "incident_id": incident_id,
        "product": product,
        "slo": slo,
        "severity": "fast",
        "state": "resolved" if resolved else "open",
        "opened_at": opened,
        "resolved_at": NOW - timedelta(minutes=5) if resolved else None,
        "burn_rate": 20.5,
        "long_burn_at_open": 16.0,
        "short_burn_at_open": 30.0,
        "peak_long_burn": 18.0,
        "peak_short_burn": 31.0,
        "short_burn_at_resolve": 2.0 if resolved else None,
        "last_evaluated_at": NOW,
    }


def job_context(lake: Lakehouse, receivers: dict[str, Receiver], **values: Any) -> JobContext[Any]:
    base = product.settings()
    webhooks = [
        {"name": "oncall", "url": receivers["oncall"].url, "secret_env": "ONCALL_SECRET"},
        {"name": "chat", "url": receivers["chat"].url, "format": "slack"},
    ]
    settings = type(base).model_validate(
        {**base.model_dump(), "alert_webhooks": webhooks, "alert_backoff_seconds": 0.01, **values}
    )
    return JobContext(
        name=product.name,
        settings=settings,
        tables=product.table_names,
        settings_of=lambda _: settings,
        declarations=product.tables,
        lake=lake,
    )


@pytest.fixture
def world(lake: Lakehouse, monkeypatch: pytest.MonkeyPatch) -> Lakehouse:
    monkeypatch.setenv("ONCALL_SECRET", SECRET)
    rows = [
        incident("i-open", "api_latency", resolved=False),
        incident("i-done", "availability", resolved=True),
    ]
    lake.append(INCIDENTS, pa.Table.from_pylist(rows, INCIDENTS_SCHEMA))
    return lake


def test_each_alert_reaches_each_webhook_once_signed_through_failures(
    world: Lakehouse, receivers: dict[str, Receiver]
) -> None:
    context = job_context(world, receivers)

    first = deliver_alerts(context)
    again = deliver_alerts(context)

    oncall, chat = receivers["oncall"], receivers["chat"]
    # Three events (an opening; an opening and its resolution), each accepted once per webhook,
    # the on-call receiver after failing twice.
    assert sorted(
        (a["body"]["incident"]["incident_id"], a["body"]["event"]) for a in oncall.accepted
    ) == [
        ("i-done", "opened"),
        ("i-done", "resolved"),
        ("i-open", "opened"),
    ]
    assert all(a["signed"] for a in oncall.accepted)
    assert set(oncall.tries.values()) == {3}
    assert len(chat.accepted) == 3 and len(set(a["delivery"] for a in chat.accepted)) == 3
    texts = [a["body"]["text"] for a in chat.accepted]
    assert sum("Resolved: web-user-analytics SLO `availability`" in t for t in texts) == 1
    assert any("burning its error budget 20.5x" in t for t in texts)
    assert first["written"] == {"delivered": 6} and again["written"] == {}
    rows = world.read(DELIVERIES).to_pylist()
    assert {(r["destination"], r["status"], r["attempts"]) for r in rows} == {
        ("oncall", "delivered", 3),
        ("chat", "delivered", 1),
    }


def test_a_resolution_waits_for_its_opening(
    world: Lakehouse, receivers: dict[str, Receiver]
) -> None:
    context = job_context(world, receivers, alert_attempts_per_run=1)

    # The on-call receiver fails each delivery's first two tries: the openings go on the third
    # run, the resolution is tried from then on and goes on the fifth.
    for _ in range(5):
        deliver_alerts(context)

    events = [
        (a["body"]["incident"]["incident_id"], a["body"]["event"])
        for a in receivers["oncall"].accepted
    ]
    assert events.index(("i-done", "opened")) < events.index(("i-done", "resolved"))
    assert len(events) == len(set(events))


def test_a_silence_holds_the_alerts_it_covers_and_records_them(
    world: Lakehouse, receivers: dict[str, Receiver]
) -> None:
    world.append(
        "operational_metrics.gold.alert_silences",
        pa.Table.from_pylist(
            [
                {
                    "silence_id": "s1",
                    "product": "web-user-analytics",
                    "slo": "api_latency",
                    "starts_at": NOW - timedelta(minutes=1),
                    "ends_at": NOW + timedelta(hours=1),
                    "created_by": "sam",
                    "comment": "deploying",
                }
            ]
        ),
    )

    deliver_alerts(job_context(world, receivers))

    sent = {a["body"]["incident"]["incident_id"] for a in receivers["oncall"].accepted}
    assert sent == {"i-done"}
    statuses = {
        (r["incident_id"], r["destination"], r["status"])
        for r in world.read(DELIVERIES).to_pylist()
    }
    assert ("i-open", "oncall", "silenced") in statuses and (
        "i-open",
        "chat",
        "silenced",
    ) in statuses


def test_a_webhook_that_never_answers_ends_in_the_dead_letters(
    world: Lakehouse, receivers: dict[str, Receiver]
) -> None:
    down = {"name": "down", "url": receivers["down"].url}
    context = job_context(
        world, receivers, alert_webhooks=[down], alert_attempts_per_run=2, alert_max_attempts=4
    )

    deliver_alerts(context)
    after_one = {(r["event"], r["status"]) for r in world.read(DELIVERIES).to_pylist()}
    for _ in range(3):
        deliver_alerts(context)
    after_four = world.read(DELIVERIES).to_pylist()

    # The resolution waits while its opening is tried; once that is dead, it is tried in turn.
    assert after_one == {("opened", "failed")}
    assert sorted(
        (r["event"], r["status"], r["attempts"], r["http_status"]) for r in after_four
    ) == [
        ("opened", "dead", 4, 500),
        ("opened", "dead", 4, 500),
        ("resolved", "dead", 4, 500),
    ]
    assert sum(receivers["down"].tries.values()) == 3 * 4  # nothing more once dead


def test_a_missing_signing_secret_is_recorded_not_swallowed(
    world: Lakehouse, receivers: dict[str, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONCALL_SECRET")

    deliver_alerts(job_context(world, receivers))

    failed = [r for r in world.read(DELIVERIES).to_pylist() if r["destination"] == "oncall"]
    assert {r["status"] for r in failed} == {"failed"}
    assert all("ONCALL_SECRET" in r["error"] for r in failed)
    assert receivers["oncall"].tries == {}


def test_silences_and_deliveries_through_the_api(
    tmp_path_factory: pytest.TempPathFactory,
    receivers: dict[str, Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path_factory.mktemp("alerts-api")
    settings = platform_settings(f"sqlite:///{folder / 'platform.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        lake = gateway.services.lake
        lake.append(
            INCIDENTS,
            pa.Table.from_pylist(
                [incident("i-api", "api_latency", resolved=False)], INCIDENTS_SCHEMA
            ),
        )
        viewer = gateway.headers_for("vio", ["viewer"])
        body = {"slo": "api_latency", "minutes": 60, "comment": "deploying"}

        refused = httpx.post(f"{gateway.url}/ops/alerts/silences", json=body, headers=viewer)
        made = httpx.post(f"{gateway.url}/ops/alerts/silences", json=body, headers=gateway.admin)
        monkeypatch.setenv("ONCALL_SECRET", SECRET)
        deliver_alerts(job_context(lake, receivers))
        deliveries = httpx.get(
            f"{gateway.url}/ops/alerts/deliveries", params={"status": "silenced"}, headers=viewer
        )
        silences = httpx.get(f"{gateway.url}/ops/alerts/silences", headers=viewer)

    assert refused.status_code == 403
    assert made.status_code == 201 and made.json()["created_by"] == "admin"
    assert {r["destination"] for r in deliveries.json()["rows"]} == {"oncall", "chat"}
    (silence,) = silences.json()["rows"]
    assert silence["active"] is True and silence["created_by"] == "***"  # a person's name: PII
