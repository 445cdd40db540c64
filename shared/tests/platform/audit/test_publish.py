"""The audit log and the lineage reach their lake tables exactly once, whatever stops in between."""

import threading
from datetime import UTC, datetime

import duckdb
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.processing import ColumnEdge, RunLog
from dataplatform.platform.audit import (
    AUDIT_TABLE,
    LINEAGE_TABLE,
    _publish,
    publish_audit_log,
    publish_lineage,
)
from dataplatform.platform.audit._publish import AUDIT_APP_ID, _audit_batch, _commit_batch

# `chain` (conftest.py): the entries 1..10 at seq 1..10 (`user-<n>` read n rows, n s after
# 2026-03-02 09:00 UTC), on SQLite and on PostgreSQL.


def published_seqs(lake: Lakehouse) -> list[int]:
    return sorted(lake.read(AUDIT_TABLE, columns=["seq"])["seq"].to_pylist())


def test_publishing_twice_adds_each_row_once(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    first = publish_audit_log(chain.store, lake)
    second = publish_audit_log(chain.store, lake)

    assert (first, second) == (10, 0)
    assert published_seqs(lake) == list(range(1, 11))
    row = next(r for r in lake.read(AUDIT_TABLE).to_pylist() if r["seq"] == 3)
    assert row["actor"] == "user-3"
    assert row["route"] == "/shop/tables/{table}"
    assert (row["table_name"], row["row_count"], row["pii"]) == ("shop.gold.orders", 3, False)
    assert row["detail"] == '{"number":3}'
    assert row["recorded_at"] == datetime(2026, 3, 2, 9, 0, 3, tzinfo=UTC)
    assert (row["prev_hash"], row["hash"]) == (chain.hash(2), chain.hash(3))


def test_only_rows_appended_since_are_published(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    publish_audit_log(chain.store, lake)
    chain.log.append([chain.entry(11), chain.entry(12)])

    assert publish_audit_log(chain.store, lake) == 2
    assert published_seqs(lake) == list(range(1, 13))


def test_readers_get_the_rows_incrementally_from_the_change_feed(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    publish_audit_log(chain.store, lake)
    version = lake.version(AUDIT_TABLE)
    chain.log.append([chain.entry(11)])
    publish_audit_log(chain.store, lake)

    changes = lake.changes_since(AUDIT_TABLE, version)

    assert changes["seq"].to_pylist() == [11]
    assert changes["_change_type"].to_pylist() == ["insert"]


def test_large_backlogs_go_in_batches(
    chain, lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_publish, "BATCH_ROWS", 4)

    assert publish_audit_log(chain.store, lake) == 10

    appends = [c for c in lake.history(AUDIT_TABLE) if c["operation"] == "WRITE"]
    assert len(appends) == 3  # 1-4, 5-8, 9-10
    assert published_seqs(lake) == list(range(1, 11))


def test_a_publisher_stopped_after_its_commit_starts_after_it(  # type: ignore[no-untyped-def]
    chain, lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_audit_log(chain.store, lake)  # creates the table with nothing new after row 10
    chain.log.append([chain.entry(number) for number in range(11, 17)])
    monkeypatch.setattr(_publish, "BATCH_ROWS", 4)
    # A publisher commits rows 11-14 and dies before it learns whether the commit happened.
    batch = _audit_batch(chain.store, 10)
    assert batch is not None
    assert _commit_batch(lake, AUDIT_TABLE, AUDIT_APP_ID, batch) == 4

    replayed = _commit_batch(lake, AUDIT_TABLE, AUDIT_APP_ID, batch)
    restarted = publish_audit_log(chain.store, lake)

    assert (replayed, restarted) == (0, 2)
    assert published_seqs(lake) == list(range(1, 17))


def test_a_publisher_that_read_an_older_state_adds_nothing(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    publish_audit_log(chain.store, lake)  # rows 1-10
    chain.log.append([chain.entry(11), chain.entry(12)])
    quick = _audit_batch(chain.store, 10)  # one publisher reads rows 11-12
    chain.log.append([chain.entry(13)])
    slow = _audit_batch(chain.store, 10)  # another, a moment later, reads rows 11-13
    assert quick is not None
    assert slow is not None

    committed = _commit_batch(lake, AUDIT_TABLE, AUDIT_APP_ID, quick)
    late = _commit_batch(lake, AUDIT_TABLE, AUDIT_APP_ID, slow)  # 11-12 are there already
    rest = publish_audit_log(chain.store, lake)

    assert (committed, late, rest) == (2, 0, 1)
    assert published_seqs(lake) == list(range(1, 14))


def test_publishers_racing_each_other_publish_each_row_once(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    failures: list[BaseException] = []

    def publish_until_stopped() -> None:
        own_lake = Lakehouse(lake.root)  # its own handles, as another process would have
        while not stop.is_set():
            try:
                publish_audit_log(chain.store, own_lake)
            except BaseException as exc:
                failures.append(exc)
                return

    publishers = [threading.Thread(target=publish_until_stopped) for _ in range(2)]
    for publisher in publishers:
        publisher.start()
    for number in range(11, 31):
        chain.log.append([chain.entry(number)])
    stop.set()
    for publisher in publishers:
        publisher.join()
    publish_audit_log(chain.store, lake)

    assert failures == []
    assert published_seqs(lake) == list(range(1, 31))


def test_publishing_stops_at_a_gap_and_says_where(chain, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    chain.sql("delete from audit_log where seq = 7")

    with pytest.raises(
        TerminalError, match="The audit chain is broken at row 7; nothing past row 6"
    ):
        publish_audit_log(chain.store, lake)

    assert published_seqs(lake) == [1, 2, 3, 4, 5, 6]


# --- lineage -----------------------------------------------------------------------------------

ORDERS = "shop.silver.orders"
SUMMARY = "shop.gold.summary"
TIERS = "shop.gold.tiers"


@pytest.fixture
def runs(shared_store: MetadataStore) -> RunLog:
    with shared_store.engine.begin() as connection:
        connection.exec_driver_sql("delete from lineage_edges")
    return RunLog(shared_store)


def edge(source: str, target: str) -> ColumnEdge:
    return ColumnEdge(ORDERS, source, SUMMARY, target)


def test_unchanged_lineage_is_left_as_it_is(runs: RunLog) -> None:
    runs.replace_lineage("summary", [edge("amount", "revenue"), edge("user_id", "user_id")])
    before = runs.edges_after(0, 100)

    runs.replace_lineage("summary", [edge("user_id", "user_id"), edge("amount", "revenue")])

    assert runs.edges_after(0, 100) == before


def test_changed_lineage_gets_ids_above_every_earlier_one(runs: RunLog) -> None:
    runs.replace_lineage("tiers", [ColumnEdge(SUMMARY, "revenue", TIERS, "tier")])
    runs.replace_lineage("summary", [edge("amount", "revenue"), edge("user_id", "user_id")])
    highest = max(recorded.id for recorded in runs.edges_after(0, 100))

    # The highest ids are the ones deleted: SQLite would hand them out again without AUTOINCREMENT.
    runs.replace_lineage("summary", [edge("amount", "revenue"), edge("price", "revenue")])

    latest = [recorded for recorded in runs.edges_after(0, 100) if recorded.model == "summary"]
    assert [recorded.id for recorded in latest] == [highest + 1, highest + 2]


def test_lineage_is_published_once_and_the_current_edges_read_from_it(  # type: ignore[no-untyped-def]
    runs: RunLog, lake: Lakehouse
) -> None:
    tiers = ColumnEdge(SUMMARY, "revenue", TIERS, "tier")
    runs.replace_lineage("tiers", [tiers])
    runs.replace_lineage("summary", [edge("amount", "revenue"), edge("user_id", "user_id")])

    first = publish_lineage(runs.store, lake)
    again = publish_lineage(runs.store, lake)
    runs.replace_lineage("summary", [edge("amount", "revenue"), edge("price", "revenue")])
    changed = publish_lineage(runs.store, lake)

    assert (first, again, changed) == (3, 0, 2)
    lineage = lake.read(LINEAGE_TABLE)  # noqa: F841 - read by the query below
    current = duckdb.sql(
        "select source_column, target_table, target_column from lineage l "
        "where recorded_at = (select max(recorded_at) from lineage where model = l.model) "
        "order by target_table, source_column"
    ).fetchall()
    assert current == [
        ("amount", SUMMARY, "revenue"),
        ("price", SUMMARY, "revenue"),
        ("revenue", TIERS, "tier"),
    ]
