"""`dataplatform up` started as a real process over a temporary lake, store and state dir."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from dataplatform.platform.collector import free_port
from dataplatform.platform.orchestrator import OrchestratorState, ProcessStatus, read_state
from dataplatform.testing import TEST_JWT_SECRET

CLI = str(Path(sys.executable).with_name("dataplatform"))
STARTUP_SECONDS = 90


@dataclass
class RunningPlatform:
    root: Path
    env: dict[str, str]
    url: str
    process: subprocess.Popen[bytes]

    @property
    def state_dir(self) -> Path:
        return self.root / "run"

    @property
    def database_url(self) -> str:
        return self.env["DATAPLATFORM_DATABASE_URL"]

    def state(self) -> OrchestratorState:
        state = read_state(self.state_dir)
        assert state is not None, "no state file yet"
        return state

    def processes(self) -> dict[str, ProcessStatus]:
        return {process.name: process for process in self.state().processes}

    def wait_for(self, condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {seconds} s: {what}\n{self.log_tail()}")
            time.sleep(0.1)

    def all_running(self) -> bool:
        state = read_state(self.state_dir)
        return (
            state is not None
            and state.state == "running"
            and all(process.state == "running" for process in state.processes)
            and self.healthy()
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def status(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "status", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM the orchestrator and wait for its exit code (SIGKILL it if it hangs)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # its children get SIGTERM from the kernel (parent death signal)
            self.process.wait()
            raise AssertionError(f"the orchestrator did not stop\n{self.log_tail()}") from None

    def log_tail(self) -> str:
        return (self.root / "up.log").read_text(errors="replace")[-4000:]


def start_platform(root: Path, **settings: str) -> RunningPlatform:
    """Run `dataplatform up` with its lake, store and state under `root`; wait until every process
    runs and the gateway answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(root / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{root / 'metadata.db'}",
        "DATAPLATFORM_STATE_DIR": str(root / "run"),
        "DATAPLATFORM_AUTH__JWT_SECRET": TEST_JWT_SECRET,
        "COLUMNS": "200",
        **{f"DATAPLATFORM_{name.upper()}": value for name, value in settings.items()},
    }
    with (root / "up.log").open("wb") as log:
        process = subprocess.Popen(
            [CLI, "up", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    platform = RunningPlatform(root, env, f"http://127.0.0.1:{port}", process)
    try:
        platform.wait_for(platform.all_running, "every process running", STARTUP_SECONDS)
    except AssertionError:
        platform.stop()
        raise
    return platform


@pytest.fixture(scope="session")
def launch_platform() -> Callable[..., RunningPlatform]:
    """Starts `dataplatform up` under a folder (see `start_platform`); the test stops it."""
    return start_platform
