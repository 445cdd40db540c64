"""A merge model removes rows by returning `_deleted`: on real Delta tables, a tick deletes,
updates and inserts in one commit, downstream change feeds show the delete, and a full refresh
gives the same table as the ticks."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from shop_models import BRONZE, BRONZE_SCHEMA, SHOP, write_models

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    ModelDefinitionError,
    ModelRunner,
    RunResult,
    build_graph,
    load_sql_model,
    load_sql_models,
    quarantine_table,
)

MEMBERS = f"{SHOP}.gold.members"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MEMBERS_SQL = """
    /* ---
    name: gold.members
    materialized: merge
    unique_key: [user_id]
    description: Users whose latest event is not `leave`, with its amount; a `leave` removes them.
    columns:
      user_id: {type: varchar}
      amount: {type: double}
      last_seen: {type: timestamptz}
    checks:
      - {check: range, column: amount, min: 0}
    --- */
    select user_id, arg_max(amount, timestamp) as amount, max(timestamp) as last_seen,
           arg_max(event, timestamp) = 'leave' as _deleted
    from ref_touched('bronze.events', 'user_id')
    group by user_id
    """


def events(*rows: tuple[str, str, str, float, int]) -> pa.Table:
    """Bronze rows from (event_id, user_id, event, amount, minutes after START)."""
    return pa.table(
        {
            "event_id": [row[0] for row in rows],
            "user_id": [row[1] for row in rows],
            "event": [row[2] for row in rows],
            "amount": [row[3] for row in rows],
            "timestamp": [START + timedelta(minutes=row[4]) for row in rows],
        },
        schema=BRONZE_SCHEMA,
    )


FIRST = events(
    ("e1", "ann", "buy", 5.0, 0), ("e2", "bob", "buy", 3.0, 1), ("e3", "cat", "buy", 2.0, 2)
)
# ann leaves (delete), bob buys again (update), dan arrives (insert).
SECOND = events(
    ("e4", "ann", "leave", 0.0, 10), ("e5", "bob", "buy", 7.0, 11), ("e6", "dan", "buy", 1.0, 12)
)


def runner_for(
    tmp_path: Path, lake: Lakehouse, store: MetadataStore, sql: str = MEMBERS_SQL
) -> ModelRunner:
    folder = write_models(tmp_path / "models", {"gold_members.sql": sql})
    return ModelRunner(build_graph(SHOP, load_sql_models(folder), ["bronze.events"]), lake, store)


def members(lake: Lakehouse) -> list[tuple[str, float]]:
    table = lake.read(MEMBERS)
    return sorted(zip(table["user_id"].to_pylist(), table["amount"].to_pylist(), strict=True))


def only(results: list[RunResult]) -> RunResult:
    assert len(results) == 1, results
    return results[0]


def test_a_tick_deletes_updates_and_inserts_in_one_commit(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_for(tmp_path, lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    assert only(runner.run()).status == "succeeded"
    before = lake.version(MEMBERS)

    lake.append(BRONZE, SECOND)
    result = only(runner.run())

    assert (result.status, result.rows_out, result.rows_deleted) == ("succeeded", 2, 1)
    assert result.output_version == before + 1 == lake.version(MEMBERS)
    assert members(lake) == [("bob", 7.0), ("cat", 2.0), ("dan", 1.0)]
    assert "_deleted" not in lake.schema(MEMBERS).names
    changes = lake.changes_since(MEMBERS, before)
    assert sorted(
        zip(changes["_change_type"].to_pylist(), changes["user_id"].to_pylist(), strict=True)
    ) == [
        ("delete", "ann"),
        ("insert", "dan"),
        ("update_postimage", "bob"),
        ("update_preimage", "bob"),
    ]
    assert "_deleted" not in {edge.target_column for edge in runner.runs.lineage([MEMBERS])}


def test_a_deleted_key_no_row_has_is_a_no_op_and_the_next_tick_goes_on(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_for(tmp_path, lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    runner.run()
    before = lake.version(MEMBERS)

    lake.append(BRONZE, events(("e7", "eve", "leave", 0.0, 20)))  # eve was never a member
    nothing = only(runner.run())
    lake.append(BRONZE, events(("e8", "fay", "buy", 4.0, 21)))
    then = only(runner.run())

    assert (nothing.status, nothing.output_version, nothing.rows_deleted) == ("succeeded", None, 1)
    assert then.status == "succeeded" and then.rows_in == 1  # eve's tick is not read again
    assert then.output_version == before + 1
    assert members(lake) == [("ann", 5.0), ("bob", 3.0), ("cat", 2.0), ("fay", 4.0)]
    assert only(runner.run()).status == "up_to_date"


def test_a_full_refresh_gives_the_table_of_the_ticks(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_for(tmp_path, lake, sqlite_store)
    ticks = [FIRST, SECOND, events(("e9", "bob", "leave", 0.0, 30), ("e10", "ann", "buy", 9.0, 31))]
    for tick in ticks:
        lake.append(BRONZE, tick)
        assert only(runner.run()).status == "succeeded"
    after_ticks = members(lake)

    assert only(runner.run(full_refresh=True)).status == "succeeded"

    assert after_ticks == members(lake) == [("ann", 9.0), ("cat", 2.0), ("dan", 1.0)]
    assert "_deleted" not in lake.schema(MEMBERS).names


def test_a_check_failing_on_a_deleted_row_neither_fails_nor_quarantines_it(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_for(tmp_path, lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    runner.run()

    lake.append(BRONZE, events(("e11", "cat", "leave", -1.0, 40)))  # out of range, and deleted
    result = only(runner.run())

    assert (result.status, result.rows_quarantined) == ("succeeded", 0)
    assert not lake.exists(quarantine_table(MEMBERS))
    assert members(lake) == [("ann", 5.0), ("bob", 3.0)]


def test_a_downstream_change_feed_shows_the_delete_and_ref_does_not(
    tmp_path: Path, lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    folder = write_models(
        tmp_path / "models",
        {
            "gold_members.sql": MEMBERS_SQL,
            "gold_member_log.sql": """
                /* ---
                name: gold.member_log
                materialized: append
                description: What each tick of members brought downstream.
                --- */
                select user_id, amount from ref('gold.members')
                """,
        },
    )
    graph = build_graph(SHOP, load_sql_models(folder), ["bronze.events"])
    runner = ModelRunner(graph, lake, sqlite_store)
    lake.append(BRONZE, FIRST)
    runner.run()
    before = lake.version(MEMBERS)

    lake.append(BRONZE, SECOND)
    runner.run()

    changes = lake.changes_since(MEMBERS, before)
    deletes = changes.filter(pc.equal(changes["_change_type"], "delete"))
    assert deletes["user_id"].to_pylist() == ["ann"]
    log = lake.read(f"{SHOP}.gold.member_log")  # ref(): inserted and updated rows only
    assert sorted(log["user_id"].to_pylist()) == ["ann", "bob", "bob", "cat", "dan"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            ("materialized: merge\n    unique_key: [user_id]", "materialized: append"),
            "only a `merge` model may return",
        ),
        (
            ("= 'leave' as _deleted", "as _deleted"),
            "returns `_deleted` as string; it must be a boolean",
        ),
    ],
    ids=["append", "not_boolean"],
)
def test_a_misused_flag_fails_the_run_naming_it(
    tmp_path: Path,
    lake: Lakehouse,
    sqlite_store: MetadataStore,
    change: tuple[str, str],
    refusal: str,
) -> None:
    sql = MEMBERS_SQL.replace(change[0], change[1])
    runner = runner_for(tmp_path, lake, sqlite_store, sql)
    lake.append(BRONZE, FIRST)

    result = only(runner.run())

    assert result.status == "failed"
    assert refusal in str(result.error)


def test_a_header_that_declares_the_flag_as_a_column_is_refused(tmp_path: Path) -> None:
    sql = MEMBERS_SQL.replace(
        "  last_seen: {type: timestamptz}",
        "  last_seen: {type: timestamptz}\n      _deleted: {type: boolean}",
    )
    path = write_models(tmp_path / "models", {"gold_members.sql": sql}) / "gold_members.sql"

    with pytest.raises(ModelDefinitionError, match="`_deleted` is the runner's delete flag"):
        load_sql_model(path)
