"""`dataplatform ingest run` as its own process, the way the orchestrator or Kubernetes runs it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import redis

from dataplatform.core.connectors.bus.redis import BRONZE_WRITERS, RedisStreamBus, stream_key
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.testing import MOBILE, MOBILE_QUARANTINE, app_events

CLI = str(Path(sys.executable).with_name("dataplatform"))
# Generous: a loaded machine must never fail a worker that would exit; one that exits does so
# within seconds. Without the exit, this is how long the test waits before failing.
DEADLINE_SECONDS = 120


def bronze_with_a_column_the_collector_does_not_send(lake_root: Path) -> None:
    """Bronze as someone left it after adding a required `tenant` column by hand: every write
    of the collector's events is refused, however often it is tried."""
    existing = app_events("e0")
    tenant = pa.field("tenant", pa.string(), nullable=False)
    Lakehouse(lake_root).append(MOBILE, existing.append_column(tenant, [["acme"]]))


async def publish(url: str, *event_ids: str) -> None:
    bus = RedisStreamBus(url)
    try:
        await bus.publish(MOBILE, ENVELOPE_SCHEMA, app_events(*event_ids).to_pylist())
    finally:
        await bus.close()


@pytest.mark.redis
def test_a_worker_that_fails_makes_the_process_exit_1_naming_its_table_and_why(
    tmp_path: Path, redis_url: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    MetadataStore(database_url).upgrade()
    bronze_with_a_column_the_collector_does_not_send(tmp_path / "lake")
    asyncio.run(publish(redis_url, "e1", "e2"))

    # The quarantine table's worker never fails: without the exit, the process would run on.
    worker = subprocess.run(
        [CLI, "ingest", "run", "--product", "mobile-user-analytics"],
        env={
            **os.environ,
            "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
            "DATAPLATFORM_DATABASE_URL": database_url,
            "DATAPLATFORM_BUS": "redis",
            "DATAPLATFORM_REDIS_URL": redis_url,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )

    assert worker.returncode == 1, worker.stderr
    assert f"the ingestion worker of {MOBILE} failed" in worker.stderr
    assert "`tenant`" in worker.stderr, "the error says why"
    assert f"the ingestion worker of {MOBILE_QUARANTINE} failed" not in worker.stderr
    # Nothing was lost: the events wait, unacknowledged, for the restarted worker.
    with redis.Redis.from_url(redis_url) as client:
        [group] = client.xinfo_groups(stream_key(MOBILE))
    assert (group["name"], group["pending"]) == (BRONZE_WRITERS.encode(), 1)
    bronze = Lakehouse(tmp_path / "lake").read(MOBILE, columns=["event_id"])
    assert bronze["event_id"].to_pylist() == ["e0"]
