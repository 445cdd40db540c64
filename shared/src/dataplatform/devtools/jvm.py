"""What the JVM servers of the tests and benchmarks share: where `infrastructure/local/jvm.sh`
puts their jars, how to say they are missing, and options for a small shared machine."""

import os
import shutil
from pathlib import Path

JVM_CACHE = Path(
    os.environ.get("DATAPLATFORM_JVM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dataplatform/jvm"
)
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
