"""Each product's processes and health, from the orchestrator's state and the gateway's `/ready`."""

from pathlib import Path
from typing import Any

import httpx2 as httpx
from pydantic import BaseModel

from dataplatform.platform.deployments import PLATFORM
from dataplatform.platform.orchestrator._state import (
    OrchestratorState,
    ProcessStatus,
    pid_alive,
    read_state,
)

READY_TIMEOUT_SECONDS = 5.0


class ProductHealth(BaseModel):
    """A product's processes, and its health: the gateway's checks, degraded while one of its
    processes is down, `unknown` when the gateway does not answer."""

    product: str
    status: str
    processes: list[ProcessStatus]
    checks: list[dict[str, Any]]


class PlatformHealth(BaseModel):
    running: bool
    detail: str
    pid: int | None
    gateway_url: str | None
    gateway: str
    products: list[ProductHealth]


def platform_health(
    state: OrchestratorState, ready: dict[str, Any] | None, gateway: str
) -> PlatformHealth:
    """Combine the processes in `state` with the gateway's readiness report `ready`."""
    report = ready or {}
    reported = dict(report.get("products", {}))
    reported[PLATFORM] = {
        "status": report.get("status"),
        "checks": [{"name": name, **check} for name, check in report.get("platform", {}).items()],
    }
    others = ({process.product for process in state.processes} | set(reported)) - {PLATFORM}
    running = state.state != "stopped"
    products = []
    for name in [PLATFORM, *sorted(others)]:
        processes = [p for p in state.processes if p.product == name]
        product = reported.get(name, {})
        products.append(
            ProductHealth(
                product=name,
                status=_status(running, product.get("status"), processes),
                processes=processes,
                checks=list(product.get("checks", [])),
            )
        )
    return PlatformHealth(
        running=running,
        detail=f"orchestrator {state.state} (pid {state.pid}), environment {state.environment}",
        pid=state.pid if running else None,
        gateway_url=state.gateway_url,
        gateway=gateway,
        products=products,
    )


def fetch_ready(gateway_url: str | None) -> tuple[dict[str, Any] | None, str]:
    """The gateway's readiness report, and a one-line verdict (`ok`, `failing`, `unreachable: ...`)."""
    if gateway_url is None:
        return None, "not started by this orchestrator"
    try:
        response = httpx.get(f"{gateway_url}/ready", timeout=READY_TIMEOUT_SECONDS)
    except httpx.TransportError as exc:
        return None, f"unreachable: {type(exc).__name__}: {exc}"
    if response.status_code not in (200, 503):  # 503: answered, and something is failing
        return None, f"answered /ready with HTTP {response.status_code}"
    report: dict[str, Any] = response.json()
    return report, str(report.get("status", "unknown"))


def read_health(state_dir: Path) -> PlatformHealth:
    """What `dataplatform status` shows: the state file in `state_dir`, with every pid checked,
    and the gateway's readiness when the platform runs."""
    state = read_state(state_dir)
    if state is None:
        return PlatformHealth(
            running=False,
            detail=f"no orchestrator has run with state dir `{state_dir}`; start one with "
            "`dataplatform up`",
            pid=None,
            gateway_url=None,
            gateway="not running",
            products=[],
        )
    for process in state.processes:
        if process.pid is not None and not pid_alive(process.pid):
            process.state, process.pid = "stopped", None
    if state.state == "stopped":
        return platform_health(state, None, "not running")
    if not pid_alive(state.pid):
        # Killed outright, it could not write its last state.
        health = platform_health(state.model_copy(update={"state": "stopped"}), None, "not running")
        health.detail = f"the orchestrator (pid {state.pid}) is gone: it was killed, not stopped"
        return health
    ready, gateway = fetch_ready(state.gateway_url)
    return platform_health(state, ready, gateway)


def _status(running: bool, reported: str | None, processes: list[ProcessStatus]) -> str:
    if not running:
        return "not running"
    if reported is None:
        return "unknown"
    if reported == "ok" and any(process.state != "running" for process in processes):
        return "degraded"
    return reported
