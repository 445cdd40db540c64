"""Python models read `this` and their inputs lazily: only the rows they ask for leave the files."""

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from shop_models import BRONZE, FIRST, SECOND, SHOP, START, events, sorted_rows

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    Input,
    ModelRunner,
    PythonModel,
    Relation,
    Snapshot,
    build_graph,
    python_model,
)

COUNTS = f"{SHOP}.silver.user_counts"
COUNTS_SCHEMA = pa.schema([("user_id", pa.string()), ("events", pa.int64())])


def user_counts(read_by: str = "user_id") -> PythonModel:
    @python_model(
        name="silver.user_counts",
        materialized="merge",
        unique_key=["user_id"],
        description="Events per user, added to what the table holds for the batch's users.",
        inputs=["bronze.events"],
        schema=COUNTS_SCHEMA,
        lineage={"user_id": ["bronze.events.user_id"], "events": ["bronze.events.event_id"]},
    )
    def counts(bronze: pa.Table, this: Snapshot) -> pa.Table:
        batch = bronze.group_by("user_id").aggregate([("event_id", "count")])
        held = {
            row["user_id"]: row["events"]
            for row in this.rows_where(read_by, batch["user_id"]).to_pylist()
        }
        return pa.table(
            {
                "user_id": batch["user_id"],
                "events": [
                    count + held.get(user, 0)
                    for user, count in zip(
                        batch["user_id"].to_pylist(),
                        batch["event_id_count"].to_pylist(),
                        strict=True,
                    )
                ],
            },
            schema=COUNTS_SCHEMA,
        )

    return counts


def runner_of(lake: Lakehouse, store: MetadataStore, *models: PythonModel) -> ModelRunner:
    return ModelRunner(build_graph(SHOP, list(models), ["bronze.events"]), lake, store)


def test_this_gives_a_python_model_the_rows_of_the_keys_it_asks_for(
    lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_of(lake, sqlite_store, user_counts())
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)

    (result,) = runner.run()

    assert result.status == "succeeded", result.error
    assert sorted_rows(lake.read(COUNTS), "user_id") == [
        {"user_id": "u1", "events": 4},  # e1, e2 twice, then e2 again: bronze counts retries
        {"user_id": "u2", "events": 2},
        {"user_id": "u3", "events": 2},
    ]


def test_asking_this_for_a_column_it_lacks_names_the_column(
    lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    runner = runner_of(lake, sqlite_store, user_counts(read_by="user"))
    lake.append(BRONZE, FIRST)

    (result,) = runner.run()

    assert result.status == "failed"
    assert "no column `user` to read rows by" in (result.error or "")
    assert "user_id" in (result.error or "")  # the suggestion


def test_rows_where_opens_only_the_partitions_of_the_values_asked_for(lake: Lakehouse) -> None:
    table = f"{SHOP}.silver.by_day"
    for day in range(3):
        rows = events((f"e{day}", f"u{day}", "view", 0.0, day * 86_400))
        lake.append(
            table,
            rows.append_column("day", pc.cast(rows["timestamp"], pa.date32())),
            partition_by=["day"],
        )
    snapshot = lake.table(table)
    last_day = (START + timedelta(days=2)).date()
    for path in snapshot.file_uris():  # a file it opened would now fail to read
        if f"day={last_day}" not in path:
            Path(path.removeprefix("file://")).unlink()
    relation = Relation(snapshot.to_pyarrow_dataset(), partitions=("day",))

    rows = Snapshot(table, relation).rows_where("day", [last_day])

    assert rows["event_id"].to_pylist() == ["e2"]
    with pytest.raises(OSError):  # the other days' files are gone: reading all fails
        Snapshot(table, relation).read()


def test_an_input_parameter_gets_new_rows_lost_rows_and_the_whole_table(
    lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    seen: list[tuple[list[str], list[str], int]] = []

    @python_model(
        name="silver.totals",
        materialized="replace",
        description="How many users the counts hold.",
        inputs=["silver.user_counts"],
        schema=pa.schema([("users", pa.int64())]),
        lineage={"users": ["silver.user_counts.user_id"]},
    )
    def totals(counts: Input) -> pa.Table:
        seen.append(
            (
                sorted(counts.new_rows["user_id"].to_pylist()),
                sorted(counts.lost_rows["user_id"].to_pylist()),
                counts.snapshot.read().num_rows,
            )
        )
        return pa.table({"users": [counts.snapshot.read().num_rows]})

    runner = runner_of(lake, sqlite_store, user_counts(), totals)
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    runner.run()

    # A replace model reads its inputs whole: every row is new, none lost.
    assert seen == [(["u1", "u2"], [], 2), (["u1", "u2", "u3"], [], 3)]
    assert lake.read(f"{SHOP}.silver.totals")["users"].to_pylist() == [3]


def test_an_incremental_input_parameter_sees_the_old_version_of_updated_rows(
    lake: Lakehouse, sqlite_store: MetadataStore
) -> None:
    changes: list[tuple[list[tuple[str, int]], list[tuple[str, int]], int]] = []

    @python_model(
        name="silver.count_changes",
        materialized="append",
        description="Each change of a user's count.",
        inputs=["silver.user_counts"],
        schema=pa.schema([("user_id", pa.string()), ("events", pa.int64())]),
        lineage={"user_id": ["silver.user_counts.user_id"]},
    )
    def count_changes(counts: Input) -> pa.Table:
        def pairs(rows: pa.Table) -> list[tuple[str, int]]:
            return sorted(zip(rows["user_id"].to_pylist(), rows["events"].to_pylist(), strict=True))

        changes.append(
            (pairs(counts.new_rows), pairs(counts.lost_rows), counts.snapshot.read().num_rows)
        )
        return counts.new_rows.select(["user_id", "events"])

    runner = runner_of(lake, sqlite_store, user_counts(), count_changes)
    lake.append(BRONZE, FIRST)
    runner.run()
    lake.append(BRONZE, SECOND)
    runner.run()

    assert changes[1] == ([("u1", 4), ("u2", 2), ("u3", 2)], [("u1", 3), ("u2", 1)], 3)
