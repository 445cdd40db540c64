"""One supervised child: started, watched, brought back after a crash with backoff, stopped."""

import contextlib
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dataplatform.platform.orchestrator._specs import ProcessSpec
from dataplatform.platform.orchestrator._state import ProcessState, ProcessStatus

logger = logging.getLogger(__name__)

# A child asked to stop exits 0, or dies of the SIGTERM it was sent: uvicorn raises the signal
# again once its graceful shutdown is done.
CLEAN_EXITS = frozenset({0, -signal.SIGTERM})
Change = Literal["crashed", "restarted", "reloaded"]


@dataclass(frozen=True)
class RestartPolicy:
    """A crashed process comes back after 1, 2, 4 ... seconds, at most `max_delay`; once it has
    stayed up `stable_after` seconds its next crash starts over at `first_delay`. `crash_loop`
    crashes in a row, none of them after a stable run, make a crash loop."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0
    crash_loop: int = 5

    def delay(self, crashes: int) -> float:
        """Seconds to wait before the restart that follows the `crashes`-th crash in a row."""
        return float(min(self.max_delay, self.first_delay * 2 ** (crashes - 1)))


class SupervisedProcess:
    """A child running `spec.argv` in its own process group, so a Ctrl-C in the terminal reaches
    only the orchestrator, which then stops the children in order."""

    def __init__(self, spec: ProcessSpec, policy: RestartPolicy, log: Path | None = None) -> None:
        self.spec = spec
        self.policy = policy
        self.log = log  # where its output goes (appended); the orchestrator's own output if None
        self.state: ProcessState = "stopped"
        self.restarts = 0
        self.crashes = 0  # in a row, since it last stayed up `stable_after` seconds
        self.last_exit: int | None = None
        self.started_at: datetime | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._restart_at = 0.0
        self._reload_deadline: float | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen and self.state in ("running", "stopping") else None

    def start(self, now: float) -> None:
        output = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            output = self.log.open("ab")
        self._popen = subprocess.Popen(  # noqa: S603 (our own CLI, no shell)
            _guarded(list(self.spec.argv)),
            process_group=0,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output is not None:
            output.close()  # the child holds its own copy
        self.state = "running"
        self.started_at = datetime.now(UTC)
        self._started = now
        logger.info("started %s (pid %d)", self.spec.name, self._popen.pid)

    def stable(self, now: float) -> bool:
        """Whether it has been running for at least the policy's `stable_after` seconds."""
        return self.state == "running" and now - self._started >= self.policy.stable_after

    def check(self, now: float) -> Change | None:
        """Notice an exit, and start the process again when its backoff is over."""
        if self.state == "running" and self._exited():
            if now - self._started >= self.policy.stable_after:
                self.crashes = 0
            self.crashes += 1
            delay = self.policy.delay(self.crashes)
            self._restart_at = now + delay
            self.state = "restarting"
            logger.warning(
                "%s exited with %s; restarting in %.0f s (crash %d in a row)",
                self.spec.name,
                self.last_exit,
                delay,
                self.crashes,
            )
            return "crashed"
        if self.state == "restarting" and now >= self._restart_at:
            self.restarts += 1
            self.start(now)
            return "restarted"
        if self.state == "stopping" and self._reload_deadline is not None:
            if self._exited():
                self._reload_deadline = None
                self.start(now)
                return "reloaded"
            if now >= self._reload_deadline:
                logger.error("%s did not stop in time to reload; killing it", self.spec.name)
                self.kill()
                self._reload_deadline = None
                self.start(now)
                return "reloaded"
        return None

    def reload(self, now: float, stop_timeout: float) -> None:
        """Stop it (it finishes its batch) and start it again right away, so it reads its
        configuration anew. A process waiting out a backoff reads it when it comes back."""
        if self.state != "running":
            return
        self.terminate()
        self._reload_deadline = now + stop_timeout

    def terminate(self) -> None:
        """Ask it to stop: SIGTERM to the process, which stops its own children in order."""
        if self.state == "restarting":
            self.state = "stopped"
        elif self.state == "running" and self._popen is not None:
            self._popen.send_signal(signal.SIGTERM)
            self.state = "stopping"

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for it to exit; True when it has."""
        if self._popen is None or self.state in ("stopped", "killed"):
            return True
        try:
            self.last_exit = self._popen.wait(max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        self.state = "stopped"
        return True

    def kill(self) -> None:
        """SIGKILL its whole process group, so nothing it started is left behind."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it exited just now
                os.killpg(self._popen.pid, signal.SIGKILL)
            self.state = "killed"
        else:
            self.state = "stopped"
        self.last_exit = self._popen.wait()

    def status(self) -> ProcessStatus:
        return ProcessStatus(
            name=self.spec.name,
            product=self.spec.product,
            role=self.spec.role,
            pid=self.pid,
            state=self.state,
            restarts=self.restarts,
            started_at=self.started_at,
            last_exit=self.last_exit,
        )

    def _exited(self) -> bool:
        if self._popen is None:
            return False
        code = self._popen.poll()
        if code is None:
            return False
        self.last_exit = code
        return True


# On Linux a child gets SIGTERM when the orchestrator dies, even by SIGKILL, so no orphan keeps
# serving (and holding the gateway's port) without a supervisor. The death signal is set by a
# small interpreter that then execs the child (the signal survives exec), not by a `preexec_fn`:
# running Python between fork and exec is unsafe in a process with threads (seen here: segfaults
# in the forked child), and without one subprocess can use vfork.
_ORPHAN_GUARD = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit('the orchestrator stopped before this process started')\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _guarded(argv: list[str]) -> list[str]:
    """`argv`, started so that it dies with this process (on Linux)."""
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), *argv]
