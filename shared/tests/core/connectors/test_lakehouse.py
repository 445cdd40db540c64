import time
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse, TableName, Txn
from dataplatform.core.errors import InvalidNameError, NotFoundError, SchemaMismatchError

EVENTS = "web_user_analytics.silver.events"


def rows(*pairs: tuple[str, int]) -> pa.Table:
    return pa.table(
        {"id": [key for key, _ in pairs], "value": pa.array([v for _, v in pairs], pa.int64())}
    )


def content(lake: Lakehouse, name: str = EVENTS, **at: object) -> list[tuple[str, int]]:
    table = lake.read(name, **at)  # type: ignore[arg-type]
    return sorted(zip(table["id"].to_pylist(), table["value"].to_pylist(), strict=True))


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("events", "three parts"),
        ("web.silver.events.extra", "three parts"),
        ("web.platinum.events", "Layer `platinum`"),
        ("Web.silver.events", "snake_case"),
        ("web.silver.my-events", "snake_case"),
    ],
)
def test_bad_table_names_are_refused_with_the_reason(name: str, complaint: str) -> None:
    with pytest.raises(InvalidNameError, match=complaint):
        TableName.parse(name)


def test_tables_live_at_product_layer_table_under_the_root(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))

    assert lake.uri(EVENTS) == f"{lake.root}/web_user_analytics/silver/events"
    assert lake.tables() == [TableName("web_user_analytics", "silver", "events")]


def test_append_then_read_returns_every_row(lake: Lakehouse) -> None:
    first = lake.append(EVENTS, rows(("a", 1), ("b", 2)))
    second = lake.append(EVENTS, rows(("c", 3)))

    assert (first.version, first.rows, second.version) == (0, 2, 1)
    assert content(lake) == [("a", 1), ("b", 2), ("c", 3)]


def test_a_replayed_transaction_changes_nothing(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)), txn=Txn("loader-p0", 1))
    lake.append(EVENTS, rows(("b", 2)), txn=Txn("loader-p0", 2))

    replay = lake.append(EVENTS, rows(("b", 2)), txn=Txn("loader-p0", 2))
    older = lake.append(EVENTS, rows(("a", 1)), txn=Txn("loader-p0", 1))

    assert replay.skipped and older.skipped
    assert lake.version(EVENTS) == 1
    assert content(lake) == [("a", 1), ("b", 2)]
    assert lake.transaction_version(EVENTS, "loader-p0") == 2


def test_transactions_of_other_writers_are_independent(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)), txn=Txn("loader-p0", 5))
    written = lake.append(EVENTS, rows(("b", 2)), txn=Txn("loader-p1", 1))

    assert not written.skipped
    assert content(lake) == [("a", 1), ("b", 2)]


def test_replayed_merge_and_delete_change_nothing(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1), ("b", 2)))
    lake.merge(EVENTS, rows(("a", 10)), keys=["id"], txn=Txn("model", 1))
    lake.delete(EVENTS, "id = 'b'", txn=Txn("model", 2))
    version = lake.version(EVENTS)

    assert lake.merge(EVENTS, rows(("a", 99)), keys=["id"], txn=Txn("model", 1)).skipped
    assert lake.delete(EVENTS, "id = 'a'", txn=Txn("model", 2)).skipped
    assert lake.version(EVENTS) == version
    assert content(lake) == [("a", 10)]


def test_merge_updates_matching_keys_and_inserts_the_rest(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1), ("b", 2)))

    lake.merge(EVENTS, rows(("b", 20), ("c", 30)), keys=["id"])

    assert content(lake) == [("a", 1), ("b", 20), ("c", 30)]


def test_merge_into_a_new_table_creates_it(lake: Lakehouse) -> None:
    lake.merge(EVENTS, rows(("a", 1)), keys=["id"])

    assert content(lake) == [("a", 1)]


def test_merge_refuses_duplicated_keys_in_the_data(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))

    with pytest.raises(SchemaMismatchError, match=r"1 duplicated key\(s\), first \{'id': 'b'\}"):
        lake.merge(EVENTS, rows(("b", 1), ("b", 2)), keys=["id"])


def test_overwrite_replaces_everything_or_only_the_predicate(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1), ("b", 2)))

    lake.overwrite(EVENTS, rows(("b", 20)), predicate="id = 'b'")
    assert content(lake) == [("a", 1), ("b", 20)]

    lake.overwrite(EVENTS, rows(("z", 0)))
    assert content(lake) == [("z", 0)]


def test_delete_by_predicate_reports_removed_rows(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1), ("b", 2), ("c", 3)))

    result = lake.delete(EVENTS, "value >= 2")

    assert result.rows == 2
    assert content(lake) == [("a", 1)]


def test_a_type_change_is_refused_naming_the_column_and_both_types(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    wrong = pa.table({"id": ["b"], "value": ["two"]})

    with pytest.raises(SchemaMismatchError) as error:
        lake.append(EVENTS, wrong)

    assert "Column `value`" in str(error.value)
    assert "long in the table but string in the data" in str(error.value)
    assert lake.version(EVENTS) == 0


def test_new_columns_need_an_explicit_evolution(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    wider = rows(("b", 2)).append_column("country", pa.array(["FR"]))

    with pytest.raises(SchemaMismatchError, match="no column `country`; pass evolve_schema=True"):
        lake.append(EVENTS, wider)
    lake.append(EVENTS, wider, evolve_schema=True)

    table = lake.read(EVENTS)
    assert table.schema.names == ["id", "value", "country"]
    assert sorted(table["country"].to_pylist(), key=str) == ["FR", None]


def test_an_evolution_naming_its_columns_adds_those_and_refuses_any_other(
    lake: Lakehouse,
) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    wider = rows(("b", 2)).append_column("country", pa.array(["FR"]))
    stray = wider.append_column("stray", pa.array([1]))

    with pytest.raises(SchemaMismatchError, match="no column `stray`;") as error:
        lake.merge(EVENTS, stray, ["id"], evolve_schema={"country"})
    lake.merge(EVENTS, wider, ["id"], evolve_schema={"country"})

    assert "country" not in str(error.value)
    table = lake.read(EVENTS)
    assert table.schema.names == ["id", "value", "country"]
    assert sorted(table["country"].to_pylist(), key=str) == ["FR", None]


def test_missing_nullable_columns_are_written_as_null(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))

    lake.append(EVENTS, pa.table({"id": ["b"]}))

    assert content(lake) == [("a", 1), ("b", None)]  # type: ignore[comparison-overlap]


def test_a_missing_required_column_is_refused(lake: Lakehouse) -> None:
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("value", pa.int64())])
    lake.create(EVENTS, schema)

    with pytest.raises(SchemaMismatchError, match=r"Column `id` .* is required"):
        lake.append(EVENTS, pa.table({"value": [1]}))


def test_time_travel_by_version(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    lake.append(EVENTS, rows(("b", 2)))
    lake.delete(EVENTS, "id = 'a'")

    assert content(lake, version=0) == [("a", 1)]
    assert content(lake, version=1) == [("a", 1), ("b", 2)]
    assert content(lake) == [("b", 2)]
    with pytest.raises(NotFoundError, match="has no version at 7"):
        lake.read(EVENTS, version=7)


def test_time_travel_by_timestamp(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    time.sleep(0.05)  # commit timestamps have millisecond precision
    between = datetime.now(UTC)
    time.sleep(0.05)
    lake.append(EVENTS, rows(("b", 2)))

    assert content(lake, as_of=between) == [("a", 1)]
    assert content(lake, as_of=datetime.now(UTC)) == [("a", 1), ("b", 2)]


def test_changes_since_a_version_return_only_what_came_after(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))
    lake.append(EVENTS, rows(("b", 2), ("c", 3)))
    lake.merge(EVENTS, rows(("b", 20)), keys=["id"])
    lake.delete(EVENTS, "id = 'c'")

    changes = lake.changes_since(EVENTS, 0).to_pylist()
    seen = sorted((c["_commit_version"], c["_change_type"], c["id"], c["value"]) for c in changes)

    assert seen == [
        (1, "insert", "b", 2),
        (1, "insert", "c", 3),
        (2, "update_postimage", "b", 20),
        (2, "update_preimage", "b", 2),
        (3, "delete", "c", 3),
    ]
    assert lake.changes_since(EVENTS, 3).num_rows == 0
    assert lake.changes_since(EVENTS, -1).num_rows == 6


def test_reading_a_missing_table_says_where_it_looked(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match=r"`web_user_analytics\.silver\.events` does not exist"):
        lake.read(EVENTS)


def test_compact_rewrites_small_files_and_keeps_rows(lake: Lakehouse) -> None:
    for index in range(5):
        lake.append(EVENTS, rows((f"k{index}", index)))

    metrics = lake.compact(EVENTS)
    lake.checkpoint(EVENTS)

    assert (metrics["numFilesRemoved"], metrics["numFilesAdded"]) == (5, 1)
    assert len(lake.table(EVENTS).file_uris()) == 1
    assert content(lake) == [(f"k{index}", index) for index in range(5)]


def test_vacuum_refuses_a_retention_below_the_tables(lake: Lakehouse) -> None:
    lake.append(EVENTS, rows(("a", 1)))

    with pytest.raises(Exception, match="retention"):
        lake.vacuum(EVENTS, retention_hours=0)


def test_vacuum_deletes_unreferenced_files_but_keeps_protected_versions(lake: Lakehouse) -> None:
    schema = rows(("a", 1)).schema
    lake.create(
        EVENTS, schema, properties={"delta.deletedFileRetentionDuration": "interval 0 hours"}
    )
    lake.append(EVENTS, rows(("a", 1)))  # version 1: kept by a snapshot
    lake.overwrite(EVENTS, rows(("b", 2)))  # version 2
    lake.overwrite(EVENTS, rows(("c", 3)))  # version 3: latest

    removed = lake.vacuum(EVENTS, retention_hours=0, keep_versions=[1])

    assert len(removed) == 1  # version 2's file; version 1's survives for the snapshot
    lake.restore(EVENTS, 1)
    assert content(lake) == [("a", 1)]
