"""The generated configuration at work: a real Prometheus (Debian's) scrapes a running gateway
and a product's model runner with a `metrics:read` key and evaluates the generated rules; a real
Alertmanager routes a firing alert to its team's webhook on loopback."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml

from dataplatform.core.product import discover_products
from dataplatform.platform.collector import free_port
from dataplatform.platform.observability import Targets, alertmanager_config, prometheus_config
from dataplatform.testing import (
    TEST_JWT_SECRET,
    RunningGateway,
    installed,
    platform_settings,
    running_gateway,
)

CLI = str(Path(sys.executable).with_name("dataplatform"))
MONITORING = Path(__file__).parents[4] / "infrastructure" / "monitoring"
PRODUCTS = discover_products()
WEB = next(p for p in PRODUCTS if p.name == "web-user-analytics")
WAIT_SECONDS = 120


def wait_for(what: str, found: Callable[[], Any], log: Path | None = None) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = found()
        if answer:
            return answer
        time.sleep(1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s\n{tail}")


@dataclass
class Receiver:
    url: str = ""
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.posts.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/teams"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()


def started(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass
class Stack:
    gateway: RunningGateway
    runner: str
    prometheus: str
    alertmanager: str
    key: str
    logs: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Stack]:
    prometheus_bin, alertmanager_bin = installed("prometheus"), installed("prometheus-alertmanager")
    folder = tmp_path_factory.mktemp("monitoring")
    database = f"sqlite:///{folder / 'platform.db'}"
    with running_gateway(platform_settings(database, folder / "lake")) as gateway:
        _, key = gateway.services.auth.keys.create("prometheus", ["monitoring"], "test", None)
        (folder / "metrics-token").write_text(key)
        runner_port, prometheus_port, alertmanager_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "DATAPLATFORM_DATABASE_URL": database,
            "DATAPLATFORM_LAKE_ROOT": str(folder / "lake"),
            "DATAPLATFORM_AUTH__JWT_SECRET": TEST_JWT_SECRET,
        }
        runner = started(
            [
                CLI,
                "models",
                "run",
                "--product",
                WEB.name,
                "--continuous",
                "--metrics-port",
                str(runner_port),
            ],
            folder / "runner.log",
            env,
        )
        targets = Targets(
            gateway=gateway.url.removeprefix("http://"),
            runners={WEB.name: f"127.0.0.1:{runner_port}"},
            alertmanager=f"127.0.0.1:{alertmanager_port}",
            credential_file=str(folder / "metrics-token"),
            webhook_base=receiver.url,
            rule_files=[str(MONITORING / "prometheus/rules/*.rules.yml")],
        )
        scrape = prometheus_config(PRODUCTS, targets)
        scrape["global"]["scrape_interval"] = "1s"  # the rules keep their own 30 s interval
        (folder / "prometheus.yml").write_text(yaml.safe_dump(scrape))
        (folder / "alertmanager.yml").write_text(
            yaml.safe_dump(alertmanager_config(PRODUCTS, targets))
        )
        prometheus = started(
            [
                prometheus_bin,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            folder / "prometheus.log",
        )
        alertmanager = started(
            [
                alertmanager_bin,
                f"--config.file={folder / 'alertmanager.yml'}",
                f"--storage.path={folder / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address=",
            ],
            folder / "alertmanager.log",
        )
        try:
            yield Stack(
                gateway,
                f"http://127.0.0.1:{runner_port}",
                f"http://127.0.0.1:{prometheus_port}",
                f"http://127.0.0.1:{alertmanager_port}",
                key,
                folder,
            )
        finally:
            for process in (alertmanager, prometheus, runner):
                stopped(process)


def answers(url: str, **kwargs: Any) -> httpx.Response | None:
    try:
        return httpx.get(url, **kwargs)
    except httpx.TransportError:
        return None


def test_a_runner_serves_its_metrics_only_to_a_caller_holding_metrics_read(stack: Stack) -> None:
    health = wait_for(
        "the runner's /health", lambda: answers(f"{stack.runner}/health"), stack.logs / "runner.log"
    )
    assert health.status_code == 200
    assert httpx.get(f"{stack.runner}/metrics").status_code == 401
    viewer = stack.gateway.headers_for("vic", ["viewer"])
    assert httpx.get(f"{stack.runner}/metrics", headers=viewer).status_code == 403
    scraped = httpx.get(f"{stack.runner}/metrics", headers={"Authorization": f"Bearer {stack.key}"})
    assert scraped.status_code == 200 and "dataplatform_model_runs_total" in scraped.text


def query(stack: Stack, promql: str) -> list[dict[str, Any]]:
    answer = answers(f"{stack.prometheus}/api/v1/query", params={"query": promql})
    if answer is None or answer.status_code != 200:
        return []
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def test_prometheus_scrapes_the_gateway_and_the_runner_and_records_the_slo_ratios(
    stack: Stack,
) -> None:
    log = stack.logs / "prometheus.log"
    for job in ("gateway", "model-runners"):
        scraped = f'up{{job="{job}"}} == 1'
        up = wait_for(f"a scrape of {job}", lambda scraped=scraped: query(stack, scraped), log)
        assert up[0]["metric"]["job"] == job
    # Requests to web's API, some answered, some refused, on every poll: a ratio of rates needs
    # the counters to move between scrapes (else it is 0/0).
    admin = stack.gateway.admin
    ratio = 'dataplatform:slo_errors:ratio_rate5m{product="web-user-analytics",slo="availability"}'

    def recorded() -> list[dict[str, Any]]:
        httpx.get(f"{stack.gateway.url}/web/overview", headers=admin)
        httpx.get(f"{stack.gateway.url}/web/overview")
        return [r for r in query(stack, ratio) if r["value"][1] != "NaN"]

    ratios = wait_for("the availability ratio's recording", recorded, log)
    assert float(ratios[0]["value"][1]) == 0.0  # no 5xx among them
    runs = query(stack, 'dataplatform_model_runs_total{product="web-user-analytics"}')
    assert runs and {r["metric"]["team"] for r in runs} == {WEB.owner}


def test_alertmanager_sends_a_firing_alert_to_its_teams_webhook(
    stack: Stack, receiver: Receiver
) -> None:
    alert = {
        "labels": {
            "alertname": "SLOFastBurn",
            "product": WEB.name,
            "slo": "availability",
            "indicator": "availability",
            "severity": "page",
            "team": WEB.owner,
        },
        "annotations": {"summary": "web-user-analytics: SLO availability burns its budget"},
    }

    def posted() -> bool:
        sent = answers(f"{stack.alertmanager}/-/ready")
        if sent is None or sent.status_code != 200:
            return False
        response = httpx.post(f"{stack.alertmanager}/api/v2/alerts", json=[alert])
        return response.status_code == 200

    wait_for("Alertmanager accepting alerts", posted, stack.logs / "alertmanager.log")
    path, body = wait_for(
        "the webhook's delivery",
        lambda: receiver.posts[0] if receiver.posts else None,
        stack.logs / "alertmanager.log",
    )
    assert path == f"/teams/{WEB.owner}"
    assert body["status"] == "firing"
    assert [a["labels"]["alertname"] for a in body["alerts"]] == ["SLOFastBurn"]
    assert body["groupLabels"] == {
        "alertname": "SLOFastBurn",
        "product": WEB.name,
        "slo": "availability",
    }
