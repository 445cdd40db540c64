"""Tables laid out for time and kept compact: day partitions, compaction, a bounded log, and a
vacuum that keeps what snapshots and recent versions read, all on real Delta tables."""

import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse, MaintenancePolicy, maintain

DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
SCHEMA = pa.schema([("event_id", pa.string()), ("user_id", pa.string()), ("day", pa.date32())])
# Log entries older than this leave at the next maintenance: none is kept before its checkpoint.
NO_LOG_RETENTION = {
    "delta.logRetentionDuration": "interval 0 seconds",
    "delta.checkpointInterval": "1000",
    "delta.enableExpiredLogCleanup": "false",
}
NO_FILE_RETENTION = {"delta.deletedFileRetentionDuration": "interval 0 hours"}


def events(first: int, count: int, day: date = DAYS[0]) -> pa.Table:
    ids = [f"e{n}" for n in range(first, first + count)]
    return pa.Table.from_pylist(
        [{"event_id": i, "user_id": f"u{n % 7}", "day": day} for n, i in enumerate(ids)], SCHEMA
    )


def small_files(lake: Lakehouse, name: str, count: int) -> None:
    for n in range(count):
        lake.append(name, events(n * 10, 10))


def test_a_day_partitioned_table_gets_a_folder_per_day_and_one_day_reads_one_partition(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    name = "shop.gold.page_days"
    lake.create(name, SCHEMA, partition_by=["day"])
    # Each way a model publishes: append, merge and overwrite all keep the table's partitioning.
    lake.append(name, events(0, 3, DAYS[0]))
    lake.merge(name, events(10, 3, DAYS[1]), ["event_id"])
    lake.overwrite(name, events(20, 2, DAYS[2]), predicate=f"day = '{DAYS[2]}'")

    folders = sorted(p.name for p in (tmp_path / "shop/gold/page_days").glob("day=*"))
    assert folders == [f"day={day}" for day in DAYS]
    one_day = lake.dataset(name).get_fragments(filter=ds.field("day") == DAYS[1])
    read = [fragment.path for fragment in one_day]
    assert len(read) == 1 and f"day={DAYS[1]}/" in read[0]


def test_maintenance_turns_small_files_into_one_keeps_every_row_and_checkpoints(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    small_files(lake, "shop.bronze.events", 12)

    done = maintain(lake, "shop.bronze.events", MaintenancePolicy(min_small_files=8))

    assert (done.files_before, done.files_after, done.compaction) == (12, 1, "bin_pack")
    assert lake.read("shop.bronze.events").num_rows == 120
    assert (tmp_path / "shop/bronze/events/_delta_log/_last_checkpoint").exists()


def test_maintenance_leaves_a_table_with_few_small_files_as_it_is(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    small_files(lake, "shop.bronze.events", 3)

    done = maintain(lake, "shop.bronze.events", MaintenancePolicy(min_small_files=8))

    assert (done.compaction, done.files_after) == ("not_needed", 3)


def test_a_clustered_table_is_sorted_by_its_first_clustering_column(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    small_files(lake, "shop.gold.user_summary", 10)

    done = maintain(
        lake,
        "shop.gold.user_summary",
        MaintenancePolicy(cluster_by=("user_id",), min_small_files=8),
    )

    assert (done.compaction, done.files_after) == ("sort", 1)
    users = lake.read("shop.gold.user_summary")["user_id"].to_pylist()
    assert len(users) == 100
    assert users == sorted(users)  # one user's rows side by side
    rearranged = lake.history("shop.gold.user_summary", 1)[0]
    assert rearranged["sortedBy"] == "user_id"


def test_the_log_of_a_table_with_many_commits_stays_bounded_across_maintenances(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    policy = MaintenancePolicy(properties=NO_LOG_RETENTION)
    lake.append("shop.bronze.events", events(0, 1))
    maintain(lake, "shop.bronze.events", policy)  # sets the log's retention

    after = []
    for round_ in range(2):
        for n in range(40):
            lake.append("shop.bronze.events", events(1000 * round_ + n, 1))
        after.append(maintain(lake, "shop.bronze.events", policy))

    for done in after:
        assert done.log_files_before > 40  # writers did not clean the log themselves
        assert done.log_files_after <= 3  # the checkpoint and what followed it
    assert lake.read("shop.bronze.events").num_rows == 81


def test_an_append_during_compaction_loses_nothing(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    name = "shop.bronze.events"
    small_files(lake, name, 4)
    writer_done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for n in range(40):
                lake.append(name, events(10_000 + n * 10, 10))
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)
        finally:
            writer_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    compactions = []
    while not writer_done.is_set():
        compactions.append(maintain(lake, name, MaintenancePolicy(min_small_files=2)).compaction)
    writer.join()
    compactions.append(maintain(lake, name, MaintenancePolicy(min_small_files=2)).compaction)

    assert failures == []
    ids = lake.read(name)["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 40 + 400
    assert "bin_pack" in compactions
    assert maintain(lake, name, MaintenancePolicy(min_small_files=2)).files_after == 1


@pytest.mark.parametrize("pinned", [True, False])
def test_vacuum_keeps_the_files_and_log_a_snapshot_names(tmp_path: Path, pinned: bool) -> None:
    lake = Lakehouse(tmp_path)
    name = "shop.gold.pages"
    lake.append(name, events(0, 5))  # version 0, soon replaced
    policy = MaintenancePolicy(
        vacuum_retention_hours=0,
        keep_versions=frozenset({0} if pinned else set()),
        properties={**NO_FILE_RETENTION, **NO_LOG_RETENTION},
    )
    maintain(lake, name, policy)  # sets the retentions
    lake.overwrite(name, events(100, 2))

    done = maintain(lake, name, policy)

    assert done.log_kept_for_snapshot is pinned
    assert lake.read(name).num_rows == 2
    if pinned:
        assert done.files_vacuumed == 0
        assert lake.read(name, version=0)["event_id"].to_pylist() == [f"e{n}" for n in range(5)]
    else:
        assert done.files_vacuumed == 1


def test_vacuum_keeps_the_files_of_versions_inside_the_retention(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    name = "shop.gold.pages"
    lake.append(name, events(0, 5))
    lake.overwrite(name, events(100, 2))

    done = maintain(lake, name, MaintenancePolicy(vacuum_retention_hours=168))

    assert done.files_vacuumed == 0
    assert lake.read(name, version=0).num_rows == 5
