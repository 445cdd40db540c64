"""Part 3: processes committing to one Delta table at once. Every commit's rows land once and the
table's versions run without a gap."""

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
from _harness import Report

from dataplatform.core.connectors.lakehouse import Lakehouse

TABLE = "reliability.bronze.commits"
SCHEMA = pa.schema([("writer", pa.int64()), ("commit", pa.int64())])
WRITER = textwrap.dedent(
    """
    import sys
    import pyarrow as pa
    from dataplatform.core.connectors.lakehouse import Lakehouse

    root, table, writer, commits = sys.argv[1:]
    lake = Lakehouse(root)
    for commit in range(int(commits)):
        lake.append(table, pa.table({"writer": [int(writer)], "commit": [commit]}))
    """
)


def test_concurrent_commits_land_once_without_a_version_gap(
    lake: Lakehouse, lake_root: Path, size: Any, report: Report
) -> None:
    processes, commits = size("--commit-processes"), size("--commits")
    lake.create(TABLE, SCHEMA)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(lake_root), TABLE, str(n), str(commits)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    errors = [writer.communicate(timeout=1800)[1] for writer in writers]

    table = lake.read(TABLE)
    written = Counter(zip(table["writer"].to_pylist(), table["commit"].to_pylist(), strict=True))
    expected = {(w, c) for w in range(processes) for c in range(commits)}
    versions = sorted(entry["version"] for entry in lake.history(TABLE))
    missing, doubled = expected - set(written), [key for key, n in written.items() if n > 1]
    report.add(
        "Concurrent commits",
        f"Sizes: {processes} processes x {commits} appends to one local Delta table.\n\n"
        "| figure | value |\n| --- | --- |\n"
        f"| writers failed | {sum(1 for w in writers if w.returncode != 0)} |\n"
        f"| commits missing / applied twice | {len(missing)} / {len(doubled)} |\n"
        f"| versions | 0 to {versions[-1]}, {len(versions)} in all (a gap-free run needs {processes * commits + 1}) |\n",
    )
    assert [
        (w.returncode, e[-2000:]) for w, e in zip(writers, errors, strict=True) if w.returncode
    ] == []
    assert (missing, doubled) == (set(), [])
    assert versions == list(range(processes * commits + 1))
