"""A writer killed with SIGKILL mid-stream and started again leaves no duplicate and no gap."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse

TABLE = "mobile_user_analytics.bronze.app_events"
BATCHES = 40
ROWS_PER_BATCH = 500

# Replays the whole stream from batch 1 every time it starts, like a consumer that restarts from
# its last committed offset or earlier: the txn version makes the replayed batches no-ops.
WRITER = textwrap.dedent(
    """
    import sys
    import pyarrow as pa
    from dataplatform.core.connectors.lakehouse import Lakehouse, Txn

    root, table, batches, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lake = Lakehouse(root)
    for batch in range(1, batches + 1):
        offsets = pa.array(range(batch * rows, (batch + 1) * rows), pa.int64())
        result = lake.append(table, pa.table({"batch": pa.array([batch] * rows, pa.int64()), "offset": offsets}),
                             txn=Txn("ingest-partition-0", batch))
        print(batch, "skipped" if result.skipped else "written", flush=True)
    """
)


def start_writer(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), TABLE, str(BATCHES), str(ROWS_PER_BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_batches(writer: subprocess.Popen[str], count: int) -> None:
    assert writer.stdout is not None
    for _ in range(count):
        line = writer.stdout.readline()
        assert line, f"writer ended early: {writer.stderr.read() if writer.stderr else ''}"


@pytest.mark.parametrize("killed_after", [1, 7])
def test_kill_minus_nine_then_restart_writes_each_batch_once(
    lake: Lakehouse, lake_root: Path, killed_after: int
) -> None:
    writer = start_writer(lake_root)
    wait_for_batches(writer, killed_after)
    time.sleep(0.01)  # let it get into the middle of the next write
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)

    committed_before_restart = lake.transaction_version(TABLE, "ingest-partition-0")
    restarted = start_writer(lake_root)
    output, errors = restarted.communicate(timeout=600)

    assert restarted.returncode == 0, errors
    assert committed_before_restart is not None and committed_before_restart >= killed_after
    assert output.count("skipped") == committed_before_restart
    table = lake.read(TABLE)
    offsets = sorted(table["offset"].to_pylist())
    assert offsets == list(range(ROWS_PER_BATCH, (BATCHES + 1) * ROWS_PER_BATCH))
    assert lake.transaction_version(TABLE, "ingest-partition-0") == BATCHES


def test_files_of_a_killed_write_are_never_read(lake: Lakehouse, lake_root: Path) -> None:
    lake.append(
        TABLE, pa.table({"batch": pa.array([0], pa.int64()), "offset": pa.array([0], pa.int64())})
    )
    folder = lake_root / "mobile_user_analytics" / "bronze" / "app_events"
    # What a writer killed after writing its data file but before its commit leaves behind.
    pq.write_table(
        pa.table({"batch": pa.array([9], pa.int64()), "offset": pa.array([9], pa.int64())}),
        folder / "part-00000-orphan.parquet",
    )

    assert lake.read(TABLE)["offset"].to_pylist() == [0]
