"""`dataplatform up` as a class: start the platform's processes, keep them running, stop them in
order."""

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Literal, Self

from dataplatform import __version__
from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.errors import ConflictError, RetryableError
from dataplatform.core.product import ENTRY_POINT_GROUP, Product, discover_products
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.deployments import PLATFORM, Deployments, DeploymentStatus
from dataplatform.platform.orchestrator._health import PlatformHealth, fetch_ready, platform_health
from dataplatform.platform.orchestrator._specs import ProcessSpec, plan_processes
from dataplatform.platform.orchestrator._state import OrchestratorState, read_state, write_state
from dataplatform.platform.orchestrator._supervised import (
    CLEAN_EXITS,
    RestartPolicy,
    SupervisedProcess,
)

logger = logging.getLogger(__name__)

LOCK_FILE = "orchestrator.lock"
TICK_SECONDS = 0.2
CONFIG_POLL_SECONDS = 3.0
STOP_TIMEOUT_SECONDS = 60.0
RECORDED_BY = "orchestrator"
DEFAULT_POLICY = RestartPolicy()


class PlatformOrchestrator:
    """Keeps the platform's processes running: restarts a crashed one with backoff, restarts a
    product's processes when its stored configuration changes or an admin asks, and stops the
    gateway first (it drains), then the rest (each finishes its batch). Records each product's
    deployments."""

    def __init__(
        self,
        settings: PlatformSettings,
        products: Sequence[Product],
        specs: Sequence[ProcessSpec],
        state_dir: Path,
        *,
        gateway_url: str | None = None,
        policy: RestartPolicy = DEFAULT_POLICY,
        config_poll_seconds: float = CONFIG_POLL_SECONDS,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
        log_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.products = list(products)
        self.processes = [
            SupervisedProcess(spec, policy, _log_file(log_dir, spec) if log_dir else None)
            for spec in specs
        ]
        self.state_dir = state_dir
        self.gateway_url = gateway_url
        self.policy = policy
        self.config_poll_seconds = config_poll_seconds
        self.stop_timeout = stop_timeout
        self.store = MetadataStore(settings.database_url)
        self.deployments = Deployments(self.store)
        self._configs = ProductConfigs(self.store)
        self._config_versions: dict[str, int | None] = {}
        self._versions = _versions(self.products)
        self._deployed = [PLATFORM, *(product.name for product in self.products)]
        self._failing: set[str] = set()  # recorded `failed`, not yet recovered
        self._state: Literal["running", "stopping", "stopped"] = "stopped"
        self._started_at = datetime.now(UTC)
        self._next_config_poll = 0.0
        self._last_request = 0  # the newest restart request seen
        self._written: str | None = None
        self._lock: IO[str] | None = None

    @classmethod
    def for_platform(
        cls,
        settings: PlatformSettings,
        state_dir: Path,
        host: str,
        port: int,
        log_dir: Path | None = None,
    ) -> Self:
        """The whole platform: the gateway on `host:port`, the platform's jobs, and the
        processes of every installed product; their output goes to `log_dir` when given."""
        products = discover_products()
        specs = plan_processes(settings, products, host, port)
        return cls(
            settings, products, specs, state_dir, gateway_url=_url(host, port), log_dir=log_dir
        )

    def start_all(self) -> None:
        """Migrate the metadata store, start every process and record each product running."""
        self._take_lock()
        self.store.upgrade()
        for product in self.products:
            self._config_versions[product.name] = self._configs.latest_version(product.name)
        # Requests made before this start are met by it.
        self._last_request = self.deployments.latest_id()
        self._state = "running"
        self._started_at = datetime.now(UTC)
        now = time.monotonic()
        for process in self.processes:
            process.start(now)
        self._next_config_poll = now + self.config_poll_seconds
        for name in self._deployed:
            version = self._config_versions.get(name)
            configured = f"; configuration version {version}" if version else ""
            self._record(name, "running", f"started by the orchestrator{configured}")
        self._write_state()
        logger.info(
            "platform up: %d processes, gateway at %s, state in %s",
            len(self.processes),
            self.gateway_url,
            self.state_dir,
        )

    def supervise(self) -> None:
        """One round: notice exits, restart what waited out its backoff, reload products whose
        configuration changed, and write the state file if anything moved."""
        now = time.monotonic()
        for process in self.processes:
            change = process.check(now)
            product = process.spec.product
            if (
                change == "crashed"
                and process.crashes >= self.policy.crash_loop
                and product not in self._failing
            ):
                self._failing.add(product)
                self._record(
                    product,
                    "failed",
                    f"`{process.spec.name}` crashed {process.crashes} times in a row (last exit "
                    f"code {process.last_exit}); still restarting it with backoff",
                )
        for product in list(self._failing):
            if all(p.stable(now) for p in self.processes if p.spec.product == product):
                self._failing.discard(product)
                self._record(product, "running", "recovered: every process stayed up")
        if now >= self._next_config_poll:
            self._next_config_poll = now + self.config_poll_seconds
            self._reload_changed_configs(now)
            self._restart_on_request(now)
        self._write_state()

    def health_check(self) -> PlatformHealth:
        """Each product's processes and health (the gateway's `/ready` checks)."""
        ready, verdict = fetch_ready(self.gateway_url)
        return platform_health(self._snapshot(), ready, verdict)

    def run(self, stop: threading.Event) -> list[str]:
        """Supervise until `stop` is set, then stop everything; returns what did not stop
        cleanly (empty when all did)."""
        while not stop.wait(TICK_SECONDS):
            self.supervise()
        logger.info("stopping the platform: the gateway first, then the other processes")
        return self.stop_all()

    def run_until_signalled(self) -> list[str]:
        """Start everything and supervise until SIGTERM or SIGINT (Ctrl-C), then stop in order."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.start_all()
        return self.run(stop)

    def stop_all(self) -> list[str]:
        """Stop the gateway first (it answers what it accepted, commits the bus and writes the
        audit buffer), then the other processes (each finishes its batch). What is still running
        after `stop_timeout` seconds is killed. Returns what did not stop cleanly."""
        self._state = "stopping"
        self._write_state()
        gateway = [p for p in self.processes if p.spec.role == "gateway"]
        others = [p for p in self.processes if p.spec.role != "gateway"]
        problems = {**self._stop(gateway), **self._stop(others)}
        for name in self._deployed:
            found = [
                problem for process, problem in problems.items() if process.spec.product == name
            ]
            if found:
                self._record(name, "failed", "stopped uncleanly: " + "; ".join(found))
            else:
                self._record(name, "stopped", "stopped by the orchestrator")
        self._state = "stopped"
        self._write_state()
        self._release_lock()
        self.store.dispose()
        return list(problems.values())

    def _stop(self, group: list[SupervisedProcess]) -> dict[SupervisedProcess, str]:
        """SIGTERM every process of `group` together, then wait for all of them."""
        asked = [p for p in group if p.state in ("running", "stopping")]
        for process in group:
            process.terminate()
        self._write_state()
        deadline = time.monotonic() + self.stop_timeout
        problems = {}
        for process in asked:
            if not process.wait(deadline - time.monotonic()):
                process.kill()
                problems[process] = (
                    f"{process.spec.name} was still running after {self.stop_timeout:.0f} s "
                    "and was killed"
                )
            elif process.last_exit not in CLEAN_EXITS:
                problems[process] = (
                    f"{process.spec.name} exited with code {process.last_exit} while stopping"
                )
            else:
                logger.info("stopped %s", process.spec.name)
            self._write_state()
        return problems

    def _reload_changed_configs(self, now: float) -> None:
        for product in self.products:
            try:
                version = self._configs.latest_version(product.name)
            except RetryableError as exc:
                logger.warning("could not read configuration versions: %s", exc.message)
                return
            if version == self._config_versions.get(product.name):
                continue
            self._config_versions[product.name] = version
            restarted = self._restart(product.name, now)
            self._record(
                product.name, "running", f"configuration version {version}; restarted {restarted}"
            )

    def _restart(self, product: str, now: float) -> str:
        """Restart `product`'s processes (a reload, not a crash); what was restarted."""
        processes = [p for p in self.processes if p.spec.product == product]
        for process in processes:
            process.reload(now, self.stop_timeout)
        restarted = ", ".join(p.spec.name for p in processes) or "no process of its own"
        logger.info("%s: restarting %s", product, restarted)
        return restarted

    def _restart_on_request(self, now: float) -> None:
        try:
            requests = self.deployments.restart_requests(after=self._last_request)
        except RetryableError as exc:
            logger.warning("could not read restart requests: %s", exc.message)
            return
        for request in requests:
            self._last_request = request.id
            restarted = self._restart(request.product, now)
            self._record(
                request.product,
                "running",
                f"restarted {restarted} on request #{request.id} by {request.recorded_by}",
            )

    def _record(self, product: str, status: DeploymentStatus, detail: str) -> None:
        version = self._versions.get(product, "unknown")
        try:
            self.deployments.record(
                product, version, self.settings.environment, status, detail, RECORDED_BY
            )
        except RetryableError as exc:
            # The processes matter more than their record: keep supervising, say what is missing.
            logger.error("could not record %s %s: %s", product, status, exc.message)

    def _snapshot(self) -> OrchestratorState:
        return OrchestratorState(
            pid=os.getpid(),
            state=self._state,
            environment=self.settings.environment,
            gateway_url=self.gateway_url,
            started_at=self._started_at,
            updated_at=datetime.now(UTC),
            processes=[process.status() for process in self.processes],
        )

    def _write_state(self) -> None:
        state = self._snapshot()
        content = state.model_dump_json(exclude={"updated_at"})
        if content != self._written:
            write_state(self.state_dir, state)
            self._written = content

    def _take_lock(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.state_dir / LOCK_FILE).open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            running = read_state(self.state_dir)
            raise ConflictError(
                f"An orchestrator (pid {running.pid if running else '?'}) already runs with "
                f"state dir `{self.state_dir}`; stop it (SIGTERM or Ctrl-C) or pass another "
                "--state-dir."
            ) from None
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _versions(products: Sequence[Product]) -> dict[str, str]:
    """The platform's version and each product's: the version of the distribution declaring it."""
    declared = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.dist is not None:
            declared[entry_point.load().name] = entry_point.dist.version
    return {
        PLATFORM: __version__,
        **{product.name: declared.get(product.name, "unknown") for product in products},
    }


def _log_file(log_dir: Path, spec: ProcessSpec) -> Path:
    """`<log_dir>/<name>.log`, a product's process named `<product>-<role>`."""
    return log_dir / f"{spec.name.replace('/', '-')}.log"


def _url(host: str, port: int) -> str:
    """Where this machine reaches a server listening on `host`."""
    if host in ("0.0.0.0", ""):  # noqa: S104 (reading the address, not binding it)
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    return f"http://{host}:{port}"
