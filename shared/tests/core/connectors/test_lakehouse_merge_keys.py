"""What a merge matches on: a null key matches its own row, and a merge keyed by a table's
partition column opens only the partitions its rows (and deleted keys) name, the null one
included."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

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


def daily(day: date | None, *paths: tuple[str, int]) -> pa.Table:
    return pa.table(
        {
            "day": pa.array([day] * len(paths), pa.date32()),
            "path": [path for path, _ in paths],
            "views": [views for _, views in paths],
        }
    )


def write_days(lake: Lakehouse) -> tuple[date, date]:
    """A file per day; the last two days, the others made unreadable: opening one would fail."""
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        lake.append(DAILY, daily(day, ("/", 1), ("/pricing", 2)), partition_by=["day"])
    last, before = FIRST_DAY + timedelta(days=DAYS - 1), FIRST_DAY + timedelta(days=DAYS - 2)
    return last, before


def break_files_except(lake: Lakehouse, *kept: str) -> None:
    for uri in lake.table(DAILY).file_uris():
        if not any(f"day={folder}" in uri for folder in kept):
            Path(uri.removeprefix("file://")).write_bytes(b"not parquet")


def views_in(lake: Lakehouse, kept: pa.compute.Expression) -> list[tuple[Any, ...]]:
    """(day, path, views) of the rows `kept` selects, read from their partitions only."""
    rows = lake.table(DAILY).to_pyarrow_dataset().to_table(filter=kept)
    columns = (rows[name].to_pylist() for name in ("day", "path", "views"))
    return sorted(zip(*columns, strict=True), key=repr)


def test_a_merge_on_a_partition_key_opens_only_the_partitions_it_names(lake: Lakehouse) -> None:
    last, before = write_days(lake)
    break_files_except(lake, str(last), str(before))

    lake.merge(
        DAILY,
        daily(last, ("/", 5), ("/docs", 1)),
        ["day", "path"],
        deletes=daily(before, ("/pricing", 0)).select(["day", "path"]),
    )

    assert views_in(lake, pa.compute.field("day") >= pa.scalar(before)) == sorted(
        [(before, "/", 1), (last, "/", 5), (last, "/docs", 1), (last, "/pricing", 2)], key=repr
    )


def test_rows_without_a_partition_value_open_the_null_partition_and_the_days_named_only(
    lake: Lakehouse,
) -> None:
    """Facts that hold on every day (a null day) sit in a partition of their own; a merge of
    them with one day's rows must not open the other days."""
    last, _ = write_days(lake)
    lake.append(DAILY, daily(None, ("/", 7), ("/about", 8)), partition_by=["day"])
    break_files_except(lake, str(last), "__HIVE_DEFAULT_PARTITION__")

    lake.merge(
        DAILY, pa.concat_tables([daily(None, ("/", 70)), daily(last, ("/", 5))]), ["day", "path"]
    )

    on_or_after_last = pa.compute.field("day") >= pa.scalar(last)
    assert views_in(lake, on_or_after_last | pa.compute.field("day").is_null()) == sorted(
        [(None, "/", 70), (None, "/about", 8), (last, "/", 5), (last, "/pricing", 2)], key=repr
    )
