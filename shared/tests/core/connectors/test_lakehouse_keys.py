"""Key lookups that read only the row groups holding the keys, over a table the maintenance
sorted by its clustering column; on real Delta tables."""

import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake.exceptions import CommitFailedError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplatform.core.connectors.lakehouse import (
    Lakehouse,
    MaintenancePolicy,
    _clustering,
    _keys,
    maintain,
    read_keys,
)

TABLE = "shop.silver.visits"
SCHEMA = pa.schema([("visit_id", pa.string()), ("visitor_id", pa.string()), ("pages", pa.int64())])
VISITORS = [f"v{n:03d}" for n in range(60)]
# Small row groups, so that a table of a few hundred rows has many.
ROWS_PER_GROUP = 20


@pytest.fixture(autouse=True)
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_clustering, "ROW_GROUP_ROWS", ROWS_PER_GROUP)
    yield
    # What one test learnt of its files is no business of the next.
    _keys._footers.clear()
    _keys._row_group_keys.clear()


def visits(first: int, count: int, seed: int = 0) -> pa.Table:
    """`count` visits, each of a visitor drawn at random (one in ten has none)."""
    draw = random.Random(seed + first)
    return pa.Table.from_pylist(
        [
            {
                "visit_id": f"visit-{n}",
                "visitor_id": None if draw.random() < 0.1 else draw.choice(VISITORS),
                "pages": n % 5,
            }
            for n in range(first, first + count)
        ],
        SCHEMA,
    )


def written_in_small_files(lake: Lakehouse, files: int = 10, rows: int = 40) -> None:
    """Appends (plain `string` files), then a merge over some of them (`string_view` files)."""
    for n in range(files):
        lake.append(TABLE, visits(n * rows, rows))
    lake.merge(TABLE, visits(0, rows // 2, seed=7), ["visit_id"])


def sorted_by_visitor(lake: Lakehouse) -> None:
    done = maintain(lake, TABLE, MaintenancePolicy(cluster_by=("visitor_id",), min_small_files=2))
    assert done.compaction == "sort"


def by_filter(lake: Lakehouse, keys: list[str | None]) -> list[dict[str, object]]:
    """What a full read filtered to `keys` gives (nulls match nothing), in a stable order."""
    rows = lake.read(TABLE)
    wanted = pa.array(keys, pa.string())
    kept = rows.filter(pc.is_in(rows["visitor_id"], value_set=wanted, skip_nulls=True))
    return sorted(kept.to_pylist(), key=lambda row: str(row["visit_id"]))


def by_lookup(lake: Lakehouse, keys: list[str | None]) -> list[dict[str, object]]:
    found = read_keys(lake.dataset(TABLE), "visitor_id", pa.array(keys, pa.string()))
    assert found.rows.schema == lake.schema(TABLE)
    return sorted(found.rows.to_pylist(), key=lambda row: str(row["visit_id"]))


def test_sorting_a_clustered_table_orders_its_files_by_the_key_in_small_row_groups(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake)
    before = lake.read(TABLE)
    version = lake.version(TABLE)

    sorted_by_visitor(lake)

    (path,) = lake.table(TABLE).file_uris()
    stored = pq.ParquetFile(path)
    visitors = stored.read()["visitor_id"].to_pylist()
    known = [visitor for visitor in visitors if visitor is not None]
    assert visitors == known + [None] * (len(visitors) - len(known))  # nulls last
    assert known == sorted(known)
    groups = [stored.metadata.row_group(i).num_rows for i in range(stored.metadata.num_row_groups)]
    assert max(groups) == ROWS_PER_GROUP and sum(groups) == before.num_rows
    # The same rows, and nothing for a change-feed reader: the files moved, no row changed.
    assert by_filter(lake, VISITORS) == sorted(
        before.filter(pc.is_valid(before["visitor_id"])).to_pylist(),
        key=lambda row: str(row["visit_id"]),
    )
    assert lake.changes_since(TABLE, version).num_rows == 0


def test_a_sorted_table_is_not_rewritten_until_new_files_come_and_then_only_they_are(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake)
    sorted_by_visitor(lake)
    policy = MaintenancePolicy(cluster_by=("visitor_id",), min_small_files=1)

    again = maintain(lake, TABLE, policy)
    lake.append(TABLE, visits(10_000, 5))
    after_new_rows = maintain(lake, TABLE, policy)

    assert (again.compaction, again.files_compacted) == ("not_needed", 0)
    assert (after_new_rows.compaction, after_new_rows.files_compacted) == ("sort", 1)


def test_new_files_are_sorted_on_their_own_until_they_hold_a_tenth_of_the_table(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake, files=10, rows=400)
    sorted_by_visitor(lake)
    policy = MaintenancePolicy(cluster_by=("visitor_id",), min_small_files=1)
    lake.append(TABLE, visits(10_000, 3))

    run = maintain(lake, TABLE, policy)  # a file of a few rows: a sorted run of its own

    assert (run.compaction, run.files_compacted, run.files_after) == ("sort", 1, 2)
    for path in lake.table(TABLE).file_uris():
        assert Path(path).name.startswith(_clustering.SORTED_PREFIX)
        visitors = [v for v in pq.read_table(path)["visitor_id"].to_pylist() if v is not None]
        assert visitors == sorted(visitors)
    lake.append(TABLE, visits(20_000, 5_000))

    whole = maintain(lake, TABLE, policy)  # more new rows than before: one run again

    assert (whole.compaction, whole.files_compacted, whole.files_after) == ("sort", 3, 1)
    assert by_lookup(lake, ["v007"]) == by_filter(lake, ["v007"])


def test_a_lookup_of_a_few_keys_reads_only_the_row_groups_holding_them(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake)
    sorted_by_visitor(lake)
    rows = lake.read(TABLE)
    wanted = ["v007", "v042"]
    holding = {
        index // ROWS_PER_GROUP
        for index, visitor in enumerate(
            pq.ParquetFile(lake.table(TABLE).file_uris()[0]).read()["visitor_id"].to_pylist()
        )
        if visitor in wanted
    }

    found = read_keys(lake.dataset(TABLE), "visitor_id", pa.array(wanted))

    assert found.row_groups == -(-rows.num_rows // ROWS_PER_GROUP)
    assert found.row_groups_read == len(holding) < found.row_groups / 4
    assert found.files_read == 1
    assert by_lookup(lake, wanted) == by_filter(lake, wanted)


def test_a_key_no_row_holds_reads_no_row_group(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake)
    sorted_by_visitor(lake)

    # Inside the key range of some row group, held by none.
    found = read_keys(lake.dataset(TABLE), "visitor_id", pa.array(["v007x", None]))

    assert (found.rows.num_rows, found.row_groups_read, found.files_read) == (0, 0, 0)


def test_the_sort_gives_up_when_a_merge_rewrote_its_files_meanwhile(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    written_in_small_files(lake, files=3)
    handle = lake.table(TABLE)  # the version the sort reads
    lake.merge(TABLE, visits(0, 5, seed=9), ["visit_id"])  # rewrites a file the sort read
    merged = by_filter(lake, VISITORS)

    with pytest.raises(CommitFailedError):
        _clustering.sort_by_key(handle, "visitor_id", None, whole=True)

    assert by_filter(lake, VISITORS) == merged


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    keys=st.lists(
        st.one_of(st.none(), st.sampled_from(VISITORS), st.sampled_from(["v", "v999", "w0"])),
        max_size=12,
    ),
    sort_first=st.booleans(),
    new_files=st.integers(min_value=0, max_value=2),
    sort_again=st.booleans(),
)
def test_a_lookup_finds_exactly_the_rows_a_full_filter_does(
    tmp_path_factory: pytest.TempPathFactory,
    keys: list[str | None],
    sort_first: bool,
    new_files: int,
    sort_again: bool,
) -> None:
    lake = Lakehouse(tmp_path_factory.mktemp("lake"))
    written_in_small_files(lake, files=4)
    if sort_first:
        sorted_by_visitor(lake)
    for n in range(new_files):  # unsorted files since the sort, merged (`string_view`) or not
        rows = visits(5_000 + 10 * n, 10, seed=n)
        if n % 2:
            lake.merge(TABLE, rows, ["visit_id"])
        else:
            lake.append(TABLE, rows)
    if sort_again:  # the new files sorted on their own, or the whole table again
        maintain(lake, TABLE, MaintenancePolicy(cluster_by=("visitor_id",), min_small_files=1))

    assert by_lookup(lake, keys) == by_filter(lake, keys)
    assert by_lookup(lake, keys) == by_filter(lake, keys)  # again, from what it kept


def test_a_table_on_an_object_store_is_sorted_and_looked_up_alike(s3_lake: Lakehouse) -> None:
    written_in_small_files(s3_lake, files=4)
    sorted_by_visitor(s3_lake)

    found = read_keys(s3_lake.dataset(TABLE), "visitor_id", pa.array(["v007", "v042"]))

    assert all(
        Path(path).name.startswith(_clustering.SORTED_PREFIX)
        for path in s3_lake.table(TABLE).file_uris()
    )
    assert 0 < found.row_groups_read < found.row_groups
    assert by_lookup(s3_lake, ["v007", "v042"]) == by_filter(s3_lake, ["v007", "v042"])
