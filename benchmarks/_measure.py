"""What the benchmarks share: the machine's description, peak memory of a process tree, and
writing one section of docs/BENCHMARKS.md."""

import os
import platform
import subprocess
import threading
import time
from pathlib import Path


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    return _status_mb(pid, "VmHWM")


def resident_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS)."""
    return _status_mb(pid, "VmRSS")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class TreeMemory:
    """Samples a process and its descendants (a JVM, say) until it exits; `peak_mb` is the sum
    of each process's own peak, an upper bound of the tree's peak."""

    def __init__(self, process: subprocess.Popen[bytes], interval: float = 0.1) -> None:
        self.peaks: dict[int, float] = {}
        self._process = process
        self._interval = interval
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @property
    def peak_mb(self) -> float:
        self._thread.join()
        return sum(self.peaks.values())

    def _sample(self) -> None:
        while self._process.poll() is None:
            pending = [self._process.pid]
            while pending:
                pid = pending.pop()
                try:
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), peak_rss_mb(pid))
                    pending.extend(child_pids(pid))
                except (FileNotFoundError, ProcessLookupError):
                    continue  # it ended between the listing and the read
            time.sleep(self._interval)


def write_section(path: Path, title: str, section: str) -> None:
    """Replace (or add) the `## {title}` section of the Markdown file at `path`."""
    section = f"## {title}\n\n{section.strip()}\n"
    text = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nFigures written by `make bench`; each section says its command and machine.\n\n"
    )
    start = text.find(f"## {title}")
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end:] if end != -1 else "")
    path.write_text(text)
