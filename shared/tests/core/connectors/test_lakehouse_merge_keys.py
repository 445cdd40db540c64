"""What a merge matches on: a null key matches its own row, and a merge keyed by a table's
partition column opens only the partitions its rows (and deleted keys) name."""

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse

SOURCES = "shop.gold.sources"
DAILY = "shop.gold.daily_pages"
FIRST_DAY = date(2026, 11, 1)
DAYS = 5


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    return Lakehouse(tmp_path / "lake")


def test_a_null_key_updates_its_row_instead_of_inserting_it_again(lake: Lakehouse) -> None:
    rows = pa.table({"source": ["search", "direct"], "campaign": ["fall", None], "visits": [3, 4]})
    lake.merge(SOURCES, rows, ["source", "campaign"])

    again = pa.table(
        {"source": ["direct"], "campaign": pa.array([None], pa.string()), "visits": [9]}
    )
    lake.merge(SOURCES, again, ["source", "campaign"])

    found = sorted(lake.read(SOURCES).to_pylist(), key=lambda row: row["source"])
    assert found == [
        {"source": "direct", "campaign": None, "visits": 9},
        {"source": "search", "campaign": "fall", "visits": 3},
    ]


def daily(day: date, *paths: tuple[str, int]) -> pa.Table:
    return pa.table(
        {
            "day": pa.array([day] * len(paths), pa.date32()),
            "path": [path for path, _ in paths],
            "views": [views for _, views in paths],
        }
    )


def test_a_merge_on_a_partition_key_opens_only_the_partitions_it_names(lake: Lakehouse) -> None:
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        lake.append(DAILY, daily(day, ("/", 1), ("/pricing", 2)), partition_by=["day"])
    last, before = FIRST_DAY + timedelta(days=DAYS - 1), FIRST_DAY + timedelta(days=DAYS - 2)
    for uri in lake.table(DAILY).file_uris():  # every other day's file: opening one would fail
        if f"day={last}" not in uri and f"day={before}" not in uri:
            Path(uri.removeprefix("file://")).write_bytes(b"not parquet")

    lake.merge(
        DAILY,
        daily(last, ("/", 5), ("/docs", 1)),
        ["day", "path"],
        deletes=daily(before, ("/pricing", 0)).select(["day", "path"]),
    )

    touched = (
        lake.table(DAILY)
        .to_pyarrow_dataset()
        .to_table(filter=pa.compute.field("day") >= pa.scalar(before))
    )
    assert sorted(
        zip(
            touched["day"].to_pylist(),
            touched["path"].to_pylist(),
            touched["views"].to_pylist(),
            strict=True,
        )
    ) == [
        (before, "/", 1),
        (last, "/", 5),
        (last, "/docs", 1),
        (last, "/pricing", 2),
    ]
