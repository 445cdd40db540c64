"""Statistics read from the Delta log alone, after appends, merges and deletes."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.catalog import read_stats, rows_added_since

TABLE = "shop.gold.customers"


def test_rows_and_rows_added_after_an_append_a_merge_and_a_delete(lake: Lakehouse) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    lake.append(TABLE, pa.table({"id": [1, 2, 3], "name": ["ann", "bob", "cy"]}))
    # id 3 is updated (not added), id 4 is inserted.
    lake.merge(TABLE, pa.table({"id": [3, 4], "name": ["cyd", "dan"]}), ["id"])
    lake.delete(TABLE, "id = 1")

    stats = read_stats(lake.table(TABLE))
    added, commits = rows_added_since(lake.table(TABLE), started)
    later = rows_added_since(lake.table(TABLE), datetime.now(UTC) + timedelta(minutes=1))

    assert (stats.version, stats.row_count) == (2, 3)  # 2, 3 and 4 are left
    assert stats.row_count == lake.read(TABLE).num_rows
    assert (added, commits) == (4, 3)  # three appended, one merged in; the delete adds none
    assert later == (0, 0)
