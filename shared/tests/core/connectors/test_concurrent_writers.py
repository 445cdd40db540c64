"""Several processes writing one table at once: no commit lost, no transaction applied twice."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse

TABLE = "mobile_user_analytics.bronze.app_events"
SCHEMA = pa.schema([("writer", pa.int64()), ("commit", pa.int64())])

WRITER = textwrap.dedent(
    """
    import sys
    import pyarrow as pa
    from dataplatform.core.connectors.lakehouse import Lakehouse, Txn

    root, table, writer, commits, transactional = sys.argv[1:]
    lake = Lakehouse(root)
    for commit in range(int(commits)):
        rows = pa.table({"writer": [int(writer)], "commit": [commit]})
        if transactional == "yes":
            # Every process replays the same stream: each (app_id, version) must land once.
            lake.append(table, rows.set_column(0, "writer", pa.array([0])), txn=Txn("replayed", commit + 1))
        else:
            lake.append(table, rows)
    """
)


def run_writers(root: Path, count: int, commits: int, transactional: bool) -> None:
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(root),
                TABLE,
                str(writer),
                str(commits),
                "yes" if transactional else "no",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in range(count)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr


def test_concurrent_appends_lose_no_commit(lake: Lakehouse, lake_root: Path) -> None:
    lake.create(TABLE, SCHEMA)

    run_writers(lake_root, count=4, commits=50, transactional=False)

    table = lake.read(TABLE)
    written = sorted(zip(table["writer"].to_pylist(), table["commit"].to_pylist(), strict=True))
    assert written == [(w, c) for w in range(4) for c in range(50)]
    assert lake.version(TABLE) == 200
    versions = sorted(commit["version"] for commit in lake.history(TABLE))
    assert versions == list(range(201))


def test_concurrent_replays_of_one_transaction_stream_apply_each_version_once(
    lake: Lakehouse, lake_root: Path
) -> None:
    lake.create(TABLE, SCHEMA)

    run_writers(lake_root, count=3, commits=20, transactional=True)

    commits = sorted(lake.read(TABLE)["commit"].to_pylist())
    assert commits == list(range(20))
    assert lake.transaction_version(TABLE, "replayed") == 20
