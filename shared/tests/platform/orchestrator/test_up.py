"""`dataplatform up` as an operator runs it: a process killed with SIGKILL comes back, a new product
configuration restarts the product's runner, `dataplatform status` shows every product."""

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import discover_products, get_product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.deployments import Deployments

RUNNER = "mobile-user-analytics/models"
JOBS = "mobile-user-analytics/jobs"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, launch_platform: Any) -> Iterator[Any]:
    running = launch_platform(tmp_path_factory.mktemp("platform"))
    yield running
    assert running.stop() == 0, running.log_tail()


def test_the_processes_of_the_platform(platform: Any) -> None:
    processes = platform.processes()

    assert {name: (p.product, p.role) for name, p in processes.items()} == {
        "gateway": ("platform", "gateway"),
        "jobs": ("platform", "jobs"),
        **{
            f"{product.name}/models": (product.name, "models")
            for product in discover_products()
            if product.model_list()
        },
        **{
            f"{product.name}/jobs": (product.name, "jobs")
            for product in discover_products()
            if product.jobs
        },
    }
    assert RUNNER in processes
    restarted = {
        name: (p.pid, p.restarts, p.last_exit)
        for name, p in processes.items()
        if p.pid is None or p.restarts
    }
    assert restarted == {}, f"started more than once: {restarted}\n{platform.log_tail()}"


def test_a_product_process_killed_with_sigkill_comes_back(platform: Any) -> None:
    killed = platform.processes()[RUNNER]

    os.kill(killed.pid, signal.SIGKILL)

    platform.wait_for(
        lambda: platform.processes()[RUNNER].pid not in (None, killed.pid), "a new runner"
    )
    back = platform.processes()[RUNNER]
    assert (back.state, back.restarts, back.last_exit) == ("running", 1, -signal.SIGKILL)
    shown = platform.status("--json")
    assert shown.returncode == 0, shown.stderr
    mobile = _product(json.loads(shown.stdout), "mobile-user-analytics")
    jobs = platform.processes()[JOBS]  # its trend alerts' checks: not killed, not restarted
    assert [(p["name"], p["state"], p["pid"], p["restarts"]) for p in mobile["processes"]] == [
        (RUNNER, "running", back.pid, 1),
        (JOBS, "running", jobs.pid, 0),
    ]


def test_the_gateway_killed_with_sigkill_comes_back_and_answers(platform: Any) -> None:
    killed = platform.processes()["gateway"]

    os.kill(killed.pid, signal.SIGKILL)

    platform.wait_for(
        lambda: (
            platform.processes()["gateway"].pid not in (None, killed.pid) and platform.healthy()
        ),
        "the gateway answering again",
    )
    back = platform.processes()["gateway"]
    assert (back.restarts, back.last_exit) == (killed.restarts + 1, -signal.SIGKILL)
    assert httpx.get(f"{platform.url}/health").json() == {"status": "ok"}


def test_a_new_product_configuration_restarts_its_runner(platform: Any) -> None:
    mobile = get_product("mobile-user-analytics")
    before = platform.processes()
    store = MetadataStore(platform.database_url)

    saved = ProductConfigs(store).save(mobile, {"schedule_seconds": 5}, "test")

    platform.wait_for(
        lambda: platform.processes()[RUNNER].pid not in (None, before[RUNNER].pid),
        "the runner restarted with the new configuration",
    )
    after = platform.processes()
    assert after[RUNNER].restarts == before[RUNNER].restarts  # reloaded, not crashed
    assert after["gateway"].pid == before["gateway"].pid
    latest = Deployments(store).list(product=mobile.name, limit=1)[0]
    assert (latest.status, latest.detail) == (
        "running",
        f"configuration version {saved.version}; restarted {RUNNER}, {JOBS}",
    )
    store.dispose()


def test_status_shows_each_products_processes_and_health(platform: Any) -> None:
    platform.wait_for(platform.all_running, "every process running")

    shown = platform.status()
    health = json.loads(platform.status("--json").stdout)

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(
        f"platform running: orchestrator running (pid {platform.process.pid})"
    )
    assert f"gateway {platform.url}: ok" in shown.stdout
    names = ["platform", *(product.name for product in discover_products())]
    assert [product["product"] for product in health["products"]] == names
    for name in names:
        assert f"{name}: ok" in shown.stdout
    for process in ("gateway", "jobs", RUNNER):
        assert f"process {process}" in shown.stdout
    platform_checks = [check["name"] for check in _product(health, "platform")["checks"]]
    assert platform_checks == ["metadata_store", "audit_writer"]
    for product in discover_products():
        checks = [check["name"] for check in _product(health, product.name)["checks"]]
        assert checks == [check.name for check in product.health_checks]


def _product(health: dict[str, Any], name: str) -> dict[str, Any]:
    return next(product for product in health["products"] if product["product"] == name)
