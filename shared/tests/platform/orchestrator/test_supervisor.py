"""The orchestrator's supervision with small real child processes: backoff, crash loops, the stop
order, stragglers, configuration reloads, one orchestrator per state dir."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dataplatform.core.errors import ConflictError
from dataplatform.core.product import Product, discover_products, get_product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.deployments import PLATFORM, Deployments
from dataplatform.platform.orchestrator import (
    PlatformOrchestrator,
    ProcessSpec,
    RestartPolicy,
    plan_processes,
    read_health,
    read_state,
)
from dataplatform.platform.orchestrator._state import OrchestratorState, write_state
from dataplatform.platform.orchestrator._supervised import SupervisedProcess
from dataplatform.testing import platform_settings

FAST = RestartPolicy(first_delay=0.05, max_delay=0.2, stable_after=60, crash_loop=3)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def ready_then(mark: Path, on_sigterm: str) -> tuple[str, ...]:
    """A child that handles SIGTERM with `on_sigterm`, then writes `mark` and idles."""
    return python(
        "import signal, sys, time\n"
        f"def stop(*_):\n    {on_sigterm}\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"open({str(mark)!r}, 'w').close()\n"
        "while True: time.sleep(0.05)\n"
    )


def eventually(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def orchestrate(
    sqlite_url: str, lake_root: Path, tmp_path: Path
) -> Iterator[Callable[..., PlatformOrchestrator]]:
    """Start an orchestrator over the given specs, supervising in a thread until the test ends."""
    started: list[tuple[PlatformOrchestrator, threading.Event, threading.Thread]] = []

    def start(specs: list[ProcessSpec], **options: object) -> PlatformOrchestrator:
        orchestrator = PlatformOrchestrator(
            platform_settings(sqlite_url, lake_root),
            options.pop("products", []),  # type: ignore[arg-type]
            specs,
            tmp_path / "run",
            **options,  # type: ignore[arg-type]
        )
        orchestrator.start_all()
        stop = threading.Event()
        thread = threading.Thread(target=orchestrator.run, args=(stop,))
        thread.start()
        started.append((orchestrator, stop, thread))
        return orchestrator

    yield start
    for _, stop, thread in started:
        stop.set()
        thread.join(timeout=60)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy(first_delay=1, max_delay=30)

    assert [policy.delay(crashes) for crashes in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crash_after_a_stable_run_starts_the_backoff_over() -> None:
    # Times are given to `check`, so the backoff is followed exactly while the child is real.
    process = SupervisedProcess(
        ProcessSpec("flaky", PLATFORM, "jobs", python("raise SystemExit(3)")),
        RestartPolicy(first_delay=1, max_delay=30, stable_after=60),
    )

    def exits_at(now: float) -> str | None:
        """What `check` notices once the child has exited, at time `now`."""
        deadline = time.monotonic() + 20
        while (change := process.check(now)) is None:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.02)
        return change

    process.start(0.0)
    assert exits_at(100.0) == "crashed"  # up 100 s: stable, so crash 1 of a new series
    assert (process.state, process.crashes, process.last_exit) == ("restarting", 1, 3)
    assert process.check(100.9) is None  # its 1 s backoff is not over
    assert process.check(101.0) == "restarted"
    assert exits_at(101.5) == "crashed"  # up 0.5 s: crash 2, backoff 2 s
    assert process.check(103.4) is None
    assert process.check(103.5) == "restarted"
    assert exits_at(104.0) == "crashed"  # crash 3, backoff 4 s
    assert process.check(107.9) is None
    assert process.check(108.0) == "restarted"
    assert (process.restarts, process.crashes) == (3, 3)
    process.terminate()
    process.wait(10)


def test_a_crash_loop_is_recorded_failed_and_its_recovery_running(
    orchestrate: Callable[..., PlatformOrchestrator], tmp_path: Path
) -> None:
    starts = tmp_path / "starts"
    # Crashes on its first three starts, then stays up.
    code = (
        "import pathlib, time\n"
        f"starts = pathlib.Path({str(starts)!r})\n"
        "count = int(starts.read_text() or 0) + 1 if starts.exists() else 1\n"
        "starts.write_text(str(count))\n"
        "if count <= 3: raise SystemExit(3)\n"
        "while True: time.sleep(0.05)\n"
    )
    policy = RestartPolicy(first_delay=0.05, max_delay=0.2, stable_after=1.0, crash_loop=3)
    orchestrator = orchestrate(
        [ProcessSpec("flaky", PLATFORM, "jobs", python(code))], policy=policy
    )
    deployments = Deployments(orchestrator.store)

    def statuses() -> list[str]:
        return [d.status for d in reversed(deployments.list(product=PLATFORM))]

    eventually(lambda: statuses() == ["running", "failed", "running"], "failed, then recovered")

    failed, recovered = deployments.list(product=PLATFORM, limit=2)[::-1]
    assert failed.detail.startswith("`flaky` crashed 3 times in a row (last exit code 3)")
    assert recovered.detail == "recovered: every process stayed up"
    assert starts.read_text() == "4"
    assert orchestrator.processes[0].restarts == 3


def test_the_gateway_is_stopped_before_the_others_and_stragglers_are_killed(
    tmp_path: Path,
) -> None:
    gateway_done, worker_signalled = tmp_path / "gateway_done", tmp_path / "worker_signalled"
    marks = [tmp_path / f"ready_{n}" for n in range(3)]
    specs = [
        ProcessSpec(
            "gateway",
            PLATFORM,
            "gateway",
            ready_then(
                marks[0],
                f"time.sleep(0.5); open({str(gateway_done)!r}, 'w').write(repr(time.time())); "
                "sys.exit(0)",
            ),
        ),
        ProcessSpec(
            "mobile-user-analytics/models",
            "mobile-user-analytics",
            "models",
            ready_then(
                marks[1],
                f"open({str(worker_signalled)!r}, 'w').write(repr(time.time())); sys.exit(0)",
            ),
        ),
        ProcessSpec("stubborn", "web-user-analytics", "models", ready_then(marks[2], "pass")),
    ]
    products = [get_product("mobile-user-analytics"), get_product("web-user-analytics")]
    orchestrator = PlatformOrchestrator(
        platform_settings(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path / "lake"),
        products,
        specs,
        tmp_path / "run",
        stop_timeout=1.0,
    )
    orchestrator.start_all()
    eventually(lambda: all(mark.exists() for mark in marks), "every child handles SIGTERM")
    stubborn_pid = orchestrator.processes[2].pid

    problems = orchestrator.stop_all()

    assert float(worker_signalled.read_text()) > float(gateway_done.read_text())
    assert problems == ["stubborn was still running after 1 s and was killed"]
    assert [p.state for p in orchestrator.processes] == ["stopped", "stopped", "killed"]
    assert stubborn_pid is not None and not _alive(stubborn_pid)
    latest = {d.product: d for d in reversed(Deployments(orchestrator.store).list())}
    assert {name: d.status for name, d in latest.items()} == {
        PLATFORM: "stopped",
        "mobile-user-analytics": "stopped",
        "web-user-analytics": "failed",
    }
    assert latest["web-user-analytics"].detail == (
        "stopped uncleanly: stubborn was still running after 1 s and was killed"
    )
    state = read_state(tmp_path / "run")
    assert state is not None and state.state == "stopped"
    assert [p.pid for p in state.processes] == [None, None, None]


def gateway_and_mobile_runner(
    orchestrate: Callable[..., PlatformOrchestrator], mobile: Product
) -> PlatformOrchestrator:
    """An orchestrator of two idle processes, the platform's gateway and mobile's runner, that
    looks at the store every 0.1 s."""
    sleeper = python("import time\nwhile True: time.sleep(0.05)")
    return orchestrate(
        [
            ProcessSpec("gateway", PLATFORM, "gateway", sleeper),
            ProcessSpec("mobile-user-analytics/models", mobile.name, "models", sleeper),
        ],
        products=[mobile],
        config_poll_seconds=0.1,
    )


def test_a_new_configuration_version_restarts_the_products_processes(
    orchestrate: Callable[..., PlatformOrchestrator], tmp_path: Path
) -> None:
    mobile = get_product("mobile-user-analytics")
    orchestrator = gateway_and_mobile_runner(orchestrate, mobile)
    gateway, runner = orchestrator.processes
    gateway_pid, runner_pid = gateway.pid, runner.pid

    ProductConfigs(orchestrator.store).save(mobile, {"schedule_seconds": 5}, "test")

    eventually(lambda: runner.pid not in (None, runner_pid), "the runner restarted")
    assert gateway.pid == gateway_pid
    assert (runner.restarts, gateway.restarts) == (0, 0)  # a reload is not a crash
    latest = Deployments(orchestrator.store).list(product=mobile.name, limit=1)[0]
    assert (latest.status, latest.detail) == (
        "running",
        "configuration version 1; restarted mobile-user-analytics/models",
    )


def test_a_restart_request_restarts_that_products_processes_once(
    orchestrate: Callable[..., PlatformOrchestrator],
) -> None:
    mobile = get_product("mobile-user-analytics")
    orchestrator = gateway_and_mobile_runner(orchestrate, mobile)
    gateway, runner = orchestrator.processes
    store = orchestrator.store
    gateway_pid, runner_pid = gateway.pid, runner.pid

    asked = Deployments(store).record(mobile.name, "1.0", "dev", "restart_requested", "", "ada")

    eventually(lambda: runner.pid not in (None, runner_pid), "the runner restarted")
    assert gateway.pid == gateway_pid
    assert runner.restarts == 0  # asked for, not a crash
    latest = Deployments(store).list(product=mobile.name, limit=1)[0]
    assert (latest.status, latest.detail) == (
        "running",
        f"restarted mobile-user-analytics/models on request #{asked.id} by ada",
    )
    restarted_pid = runner.pid
    time.sleep(0.5)  # several polls: a request is met once
    assert runner.pid == restarted_pid


def test_one_orchestrator_per_state_dir(
    orchestrate: Callable[..., PlatformOrchestrator],
    sqlite_url: str,
    lake_root: Path,
    tmp_path: Path,
) -> None:
    orchestrate([])
    second = PlatformOrchestrator(
        platform_settings(sqlite_url, lake_root), [], [], tmp_path / "run"
    )

    with pytest.raises(
        ConflictError, match=f"An orchestrator \\(pid {os.getpid()}\\) already runs"
    ):
        second.start_all()


def test_status_of_an_orchestrator_killed_outright(tmp_path: Path) -> None:
    gone = subprocess.Popen(python("pass"))
    gone.wait()
    write_state(
        tmp_path,
        OrchestratorState.model_validate(
            {
                "pid": gone.pid,
                "state": "running",
                "environment": "dev",
                "gateway_url": "http://127.0.0.1:9",
                "started_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "processes": [],
            }
        ),
    )

    health = read_health(tmp_path)

    assert health.running is False
    assert health.detail == f"the orchestrator (pid {gone.pid}) is gone: it was killed, not stopped"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ingestion_workers_run_only_when_events_travel_through_a_bus_server(
    sqlite_url: str, lake_root: Path
) -> None:
    products = discover_products()

    def planned(bus: str) -> dict[str, tuple[str, ...]]:
        settings = platform_settings(sqlite_url, lake_root, bus=bus)
        specs = plan_processes(settings, products, "0.0.0.0", 8080)
        return {spec.name: spec.argv[3:] for spec in specs}

    embedded = planned("embedded")
    assert embedded["gateway"] == ("serve", "--host", "0.0.0.0", "--port", "8080")
    # The jobs sample the gateway's metrics where this machine reaches it.
    assert embedded["jobs"] == (
        "jobs",
        "run",
        "--every",
        "10",
        "--scrape-gateway",
        "http://127.0.0.1:8080/metrics",
    )
    assert embedded["mobile-user-analytics/models"] == (
        "models",
        "run",
        "--product",
        "mobile-user-analytics",
        "--continuous",
    )
    assert not any(name.endswith("/ingestion") for name in embedded)
    with_streams = [product.name for product in products if product.streams]
    assert with_streams == ["mobile-user-analytics", "web-user-analytics"]
    assert [name for name in planned("redis") if name.endswith("/ingestion")] == [
        f"{name}/ingestion" for name in with_streams
    ]
    assert planned("kafka")["web-user-analytics/ingestion"] == (
        "ingest",
        "run",
        "--product",
        "web-user-analytics",
    )


def test_a_child_dies_with_its_orchestrator_even_when_that_is_killed(tmp_path: Path) -> None:
    # A supervisor in a process of its own starts a child that would idle for a minute, prints the
    # child's pid, and is then killed with SIGKILL: nothing of it can stop the child, the kernel's
    # parent-death signal must.
    supervisor = subprocess.Popen(
        python(
            "import sys, time\n"
            "from dataplatform.platform.orchestrator import ProcessSpec, RestartPolicy\n"
            "from dataplatform.platform.orchestrator._supervised import SupervisedProcess\n"
            "spec = ProcessSpec('idle', 'platform', 'jobs', "
            "(sys.executable, '-c', 'import time; time.sleep(60)'))\n"
            "child = SupervisedProcess(spec, RestartPolicy())\n"
            "child.start(time.monotonic())\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n"
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert supervisor.stdout is not None
    child = int(supervisor.stdout.readline())
    supervisor.kill()
    supervisor.wait()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # A zombie (dead, not yet reaped by init) is gone too.
        return Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0] == "Z"

    eventually(gone, f"the orphaned child {child} ended")
