import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Snapshots
from dataplatform.core.errors import NotFoundError, TerminalError

BRONZE = "mobile_user_analytics.bronze.app_events"
SILVER = "mobile_user_analytics.silver.sessions"
GOLD = "web_user_analytics.gold.pages"


def ids(lake: Lakehouse, name: str) -> list[int]:
    return sorted(lake.read(name)["id"].to_pylist())


def write(lake: Lakehouse, name: str, *values: int) -> None:
    lake.append(name, pa.table({"id": pa.array(values, pa.int64())}))


def test_restore_brings_every_table_back_to_its_snapshot(
    lake: Lakehouse, store: MetadataStore
) -> None:
    for name in (BRONZE, SILVER, GOLD):
        write(lake, name, 1)
    write(lake, GOLD, 2)
    snapshots = Snapshots(lake, store)
    snapshot = snapshots.create("before-backfill")

    write(lake, BRONZE, 3)
    lake.overwrite(SILVER, pa.table({"id": pa.array([9], pa.int64())}))
    lake.delete(GOLD, "id = 1")
    write(lake, "web_user_analytics.gold.sources", 1)  # made after the snapshot
    result = snapshots.restore("before-backfill")

    assert snapshot.versions == {BRONZE: 0, SILVER: 0, GOLD: 1}
    assert (ids(lake, BRONZE), ids(lake, SILVER), ids(lake, GOLD)) == ([1], [1], [1, 2])
    assert result.restored == {BRONZE: 0, SILVER: 0, GOLD: 1}
    assert result.not_in_snapshot == ["web_user_analytics.gold.sources"]


def test_restoring_an_untouched_lake_commits_nothing(lake: Lakehouse, store: MetadataStore) -> None:
    write(lake, BRONZE, 1)
    write(lake, GOLD, 1)
    snapshots = Snapshots(lake, store)
    snapshots.create("now")

    result = snapshots.restore("now")

    assert result.restored == {}
    assert result.unchanged == [BRONZE, GOLD]
    assert (lake.version(BRONZE), lake.version(GOLD)) == (0, 0)


def test_snapshots_are_listed_oldest_first_and_labels_are_unique(
    lake: Lakehouse, store: MetadataStore
) -> None:
    write(lake, BRONZE, 1)
    snapshots = Snapshots(lake, store)
    snapshots.create("first")
    write(lake, BRONZE, 2)
    snapshots.create("second")

    assert [(s.label, s.versions[BRONZE]) for s in snapshots.list()] == [
        ("first", 0),
        ("second", 1),
    ]
    with pytest.raises(TerminalError, match="`first` already exists"):
        snapshots.create("first")


def test_restoring_an_unknown_label_says_how_to_list_them(
    lake: Lakehouse, store: MetadataStore
) -> None:
    with pytest.raises(NotFoundError, match="dataplatform snapshot list"):
        Snapshots(lake, store).restore("nope")


def test_a_snapshot_of_another_lake_is_refused(
    lake: Lakehouse, store: MetadataStore, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    write(lake, BRONZE, 1)
    Snapshots(lake, store).create("elsewhere")

    with pytest.raises(TerminalError, match="was taken of lake"):
        Snapshots(Lakehouse(tmp_path / "other"), store).restore("elsewhere")


def test_snapshot_versions_are_protected_from_vacuum(lake: Lakehouse, store: MetadataStore) -> None:
    lake.create(
        BRONZE,
        pa.schema([("id", pa.int64())]),
        properties={"delta.deletedFileRetentionDuration": "interval 0 hours"},
    )
    write(lake, BRONZE, 1)
    snapshots = Snapshots(lake, store)
    snapshots.create("keep-me")
    lake.overwrite(BRONZE, pa.table({"id": pa.array([2], pa.int64())}))
    lake.overwrite(BRONZE, pa.table({"id": pa.array([3], pa.int64())}))

    lake.vacuum(BRONZE, retention_hours=0, keep_versions=snapshots.protected_versions(BRONZE))
    snapshots.restore("keep-me")

    assert ids(lake, BRONZE) == [1]
