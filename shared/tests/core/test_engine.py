import threading
from datetime import date

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.engine import QueryEngine
from dataplatform.core.errors import TerminalError

CLICKS = "web_user_analytics.silver.page_views"


def test_sql_over_the_latest_snapshot_and_over_a_past_one(lake: Lakehouse) -> None:
    lake.append(CLICKS, pa.table({"page": ["/", "/pricing", "/"], "ms": [10, 20, 30]}))
    lake.append(CLICKS, pa.table({"page": ["/docs"], "ms": [40]}))
    engine = QueryEngine(lake)

    per_page = engine.query(
        "select page, sum(ms) as total from clicks group by page order by page",
        {"clicks": CLICKS},
    )
    first_version = engine.relation(CLICKS, version=0).aggregate("count(*) as n").fetchall()

    assert per_page.to_pylist() == [
        {"page": "/", "total": 40},
        {"page": "/docs", "total": 40},
        {"page": "/pricing", "total": 20},
    ]
    assert first_version == [(3,)]


def test_parameters_are_bound_not_formatted(lake: Lakehouse) -> None:
    lake.append(CLICKS, pa.table({"page": ["/", "'; drop table x; --"], "ms": [1, 2]}))

    found = QueryEngine(lake).query(
        "select ms from clicks where page = ?", {"clicks": CLICKS}, ["'; drop table x; --"]
    )

    assert found.to_pylist() == [{"ms": 2}]


def test_each_thread_gets_its_own_connection(lake: Lakehouse) -> None:
    engine = QueryEngine(lake)
    connections = []

    def remember() -> None:
        connections.append(engine.connection())

    threads = [threading.Thread(target=remember) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(connection) for connection in connections}) == 3
    assert engine.connection() is engine.connection()


def test_a_string_filter_over_files_a_merge_and_a_delete_wrote(lake: Lakehouse) -> None:
    lake.append(CLICKS, pa.table({"page": ["/", "/docs", "/pricing"], "ms": [1, 2, 3]}))
    # delta-rs's merge and delete rewrite files with strings as `string_view`, beside the
    # append's `string`: pyarrow could not push a string filter into such a dataset.
    lake.merge(CLICKS, pa.table({"page": ["/docs", "/blog"], "ms": [20, 5]}), ["page"])
    lake.delete(CLICKS, "page = '/'")

    found = QueryEngine(lake).query(
        "select page, ms from clicks where page >= ? order by page", {"clicks": CLICKS}, ["/c"]
    )

    assert found.to_pylist() == [{"page": "/docs", "ms": 20}, {"page": "/pricing", "ms": 3}]


def test_within_reads_only_the_partitions_in_range(lake: Lakehouse) -> None:
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        rows = pa.table({"day": pa.array([day]).cast(pa.date32()), "ms": [int(day[-1])]})
        lake.append(CLICKS, rows, partition_by=["day"])
    engine = QueryEngine(lake)
    bounds = {"day": (date(2026, 3, 2), None)}

    kept = engine.snapshot(CLICKS).within(bounds)
    # No `where`: what comes back is what the kept files hold.
    found = engine.query(
        "select day, ms from clicks order by day", {"clicks": CLICKS}, within={"clicks": bounds}
    )

    assert kept.files.num_rows == 2
    assert found.to_pylist() == [
        {"day": date(2026, 3, 2), "ms": 2},
        {"day": date(2026, 3, 3), "ms": 3},
    ]


def test_within_a_column_the_table_lacks_says_which_it_has(lake: Lakehouse) -> None:
    lake.append(CLICKS, pa.table({"page": ["/"], "ms": [1]}))

    with pytest.raises(TerminalError, match=r"`pages`.*Did you mean `page`\?"):
        QueryEngine(lake).query(
            "select 1", {"clicks": CLICKS}, within={"clicks": {"pages": ("/", "/")}}
        )
