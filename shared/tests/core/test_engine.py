import threading

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.engine import QueryEngine

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
