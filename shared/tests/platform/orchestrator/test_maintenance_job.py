"""The platform's maintenance job: every table compacted on its own interval, clustered tables
sorted by the key their product declares, bronze's log bounded, snapshots kept, each run recorded."""

from pathlib import Path

import pyarrow as pa

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Snapshots
from dataplatform.platform.orchestrator import PlatformJobs
from dataplatform.platform.orchestrator._maintenance import MAINTENANCE_TABLE
from dataplatform.testing import platform_settings

BRONZE = "shop.bronze.events"
# Declared `cluster_by: [visitor_id]` in web-user-analytics' model header.
CLUSTERED = "web_user_analytics.gold.visitors_last_seen"
EVERY_SECONDS = 600


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_maintenance_runs_on_its_interval_and_records_each_table(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    lake = Lakehouse(tmp_path / "lake")
    for n in range(10):
        lake.append(BRONZE, pa.table({"event_id": [f"e{n}"]}))
        lake.append(CLUSTERED, pa.table({"visitor_id": [f"v{9 - n}"]}))
    Snapshots(lake, store).create("before-maintenance")  # pins version 9 of both
    settings = platform_settings(
        database_url, tmp_path / "lake", maintenance={"every_seconds": EVERY_SECONDS}
    )
    clock = FrozenClock()
    jobs = PlatformJobs(settings, store, lake, clock=clock)

    assert jobs.run_once(only=["maintain_tables"]) == {"maintain_tables": None}
    first = lake.read(MAINTENANCE_TABLE).to_pylist()
    by_table = {row["table_name"]: row for row in first}
    assert by_table[BRONZE]["compaction"] == "bin_pack"
    assert (by_table[BRONZE]["files_before"], by_table[BRONZE]["files_after"]) == (10, 1)
    assert by_table[CLUSTERED]["compaction"] == "sort"
    assert all(row["error"] is None for row in first)
    log = lake.table(BRONZE).metadata().configuration
    assert log["delta.logRetentionDuration"] == "interval 168 hours"
    assert log["delta.checkpointInterval"] == "1000"
    assert lake.read(BRONZE, version=9).num_rows == 10  # the snapshot's version stays readable

    clock.now += EVERY_SECONDS - 1
    jobs.run_once(only=["maintain_tables"])
    assert lake.read(MAINTENANCE_TABLE).num_rows == len(first)  # not due yet

    clock.now += 1
    jobs.run_once(only=["maintain_tables"])
    assert lake.read(MAINTENANCE_TABLE).num_rows > len(first)
    assert sorted(lake.read(CLUSTERED)["visitor_id"].to_pylist()) == [f"v{n}" for n in range(10)]
    store.dispose()
