"""What the JVM servers of the tests and benchmarks share: where `infrastructure/local/jvm.sh`
puts their jars, how to say they are missing, and options for a small shared machine."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

JVM_CACHE = Path(
    os.environ.get("DATAPLATFORM_JVM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dataplatform/jvm"
)
# Generous: a loaded 2-core machine must never fail a server that would start.
START_SECONDS = 90
INSTALL = "run `infrastructure/local/jvm.sh` (or `make test`, which runs it)"
JVM_OPTIONS = [
    "-Xmx512m",
    "-Xms64m",
    # One server on a small shared machine: the serial collector and the first JIT tier start
    # fastest and leave the cores to the tests.
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
]


def missing_jars(server: str, jars: Path, pattern: str) -> str | None:
    """Why `server` cannot start here (no `java`, or no jar matching `pattern` in `jars`),
    naming the script that brings them; None when it can."""
    if shutil.which("java") is None:
        return f"no `java` on PATH for the {server}; {INSTALL}"
    if not any(jars.glob(pattern)):
        return f"the {server}'s jars are not in {jars}; {INSTALL}"
    return None


class JvmServer:
    """A JVM server process writing into `folder`: started, waited for until it answers, killed
    (SIGKILL, as a crash) or stopped (cleanly, or SIGKILL after 30 s)."""

    name = "the server"  # in errors: "<name> on port <port> did not start"

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must say how to start its server")

    def _answers(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must say how to ask its server")

    def _log_files(self) -> list[Path]:
        return [self.folder / "stdout.log"]

    def start(self) -> None:
        """Launch the server; return once it answers, or raise with the tail of its logs."""
        with (self.folder / "stdout.log").open("ab") as output:
            self._process = subprocess.Popen(  # noqa: S603 (java, with arguments made here)
                self._command(), stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_SECONDS
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"{self.name} on port {self.port} did not start; the end of its log "
                    f"({self.folder}):\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        text = "".join(
            path.read_text(errors="replace") for path in self._log_files() if path.exists()
        )
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown, as a crash or a power cut of the process."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)

    def stop(self) -> None:
        """A clean shutdown, or SIGKILL if it takes longer than 30 s."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
