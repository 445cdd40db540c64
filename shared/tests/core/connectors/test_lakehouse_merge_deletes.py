"""A merge that also removes rows: deletes, updates and inserts in one commit of a real Delta
table, seen as such in its change data feed, with no key value in its log."""

from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import SchemaMismatchError
from dataplatform.core.governance import PersonGuard, SuppressionList, guard_of

SESSIONS = "shop.silver.sessions"
SCHEMA = pa.schema([("session_id", pa.string()), ("user_id", pa.string()), ("views", pa.int64())])


def sessions(*rows: tuple[str, str, int]) -> pa.Table:
    return pa.table(
        {
            "session_id": [row[0] for row in rows],
            "user_id": [row[1] for row in rows],
            "views": [row[2] for row in rows],
        },
        schema=SCHEMA,
    )


def keys(*session_ids: str) -> pa.Table:
    return pa.table({"session_id": pa.array(session_ids, pa.string())})


def content(lake: Lakehouse) -> list[tuple[str, str, int]]:
    table = lake.read(SESSIONS, columns=["session_id", "user_id", "views"])
    return sorted(zip(*(table[name].to_pylist() for name in SCHEMA.names), strict=True))


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    lake = Lakehouse(tmp_path / "lake")
    lake.append(
        SESSIONS,
        sessions(("merged-away-17", "ann", 2), ("kept-session-1", "ann", 3), ("bob-1", "bob", 1)),
    )
    return lake


def test_one_commit_deletes_updates_and_inserts(lake: Lakehouse) -> None:
    before = lake.version(SESSIONS)

    result = lake.merge(
        SESSIONS,
        sessions(("kept-session-1", "ann", 5), ("cat-1", "cat", 1)),
        ["session_id"],
        deletes=keys("merged-away-17"),
        txn=Txn("silver.sessions", 1),
    )

    assert result.version == before + 1
    assert not result.nothing_changed
    assert content(lake) == [("bob-1", "bob", 1), ("cat-1", "cat", 1), ("kept-session-1", "ann", 5)]
    changes = lake.changes_since(SESSIONS, before)
    seen = sorted(
        zip(changes["_change_type"].to_pylist(), changes["session_id"].to_pylist(), strict=True)
    )
    assert seen == [
        ("delete", "merged-away-17"),
        ("insert", "cat-1"),
        ("update_postimage", "kept-session-1"),
        ("update_preimage", "kept-session-1"),
    ]
    assert lake.transaction_version(SESSIONS, "silver.sessions") == 1


def test_the_schema_and_the_log_hold_no_flag_and_no_key_value(lake: Lakehouse) -> None:
    lake.merge(SESSIONS, sessions(("cat-1", "cat", 1)), ["session_id"], deletes=keys("bob-1"))

    assert lake.schema(SESSIONS).names == SCHEMA.names
    log = Path(lake.uri(SESSIONS)) / "_delta_log"
    last_commit = sorted(log.glob("*.json"))[-1].read_bytes()
    assert b"merge" in last_commit.lower()
    assert b"bob-1" not in last_commit  # the deleted key: not in a predicate, not in metadata


def test_a_deleted_key_no_row_has_changes_nothing_and_commits_nothing(lake: Lakehouse) -> None:
    before = lake.version(SESSIONS)

    result = lake.merge(
        SESSIONS,
        SCHEMA.empty_table(),
        ["session_id"],
        deletes=keys("never-existed"),
        txn=Txn("m", 1),
    )

    assert result.nothing_changed
    assert result.version == before == lake.version(SESSIONS)
    assert lake.transaction_version(SESSIONS, "m") is None  # delta-rs made no commit to hold it
    assert len(content(lake)) == 3


def test_a_replayed_merge_with_deletes_is_skipped(lake: Lakehouse) -> None:
    write = {"deletes": keys("bob-1"), "txn": Txn("m", 1)}
    lake.merge(SESSIONS, sessions(("bob-2", "bob", 1)), ["session_id"], **write)
    lake.append(SESSIONS, sessions(("bob-1", "bob", 9)))  # a later writer brings it back

    replay = lake.merge(SESSIONS, sessions(("bob-2", "bob", 1)), ["session_id"], **write)

    assert replay.skipped
    assert ("bob-1", "bob", 9) in content(lake)


def test_a_key_both_kept_and_deleted_is_refused(lake: Lakehouse) -> None:
    with pytest.raises(
        SchemaMismatchError, match=r"1 duplicated key\(s\), first \{'session_id': 'bob-1'\}"
    ):
        lake.merge(SESSIONS, sessions(("bob-1", "bob", 2)), ["session_id"], deletes=keys("bob-1"))


def test_deleted_keys_without_a_merge_key_column_are_refused(lake: Lakehouse) -> None:
    with pytest.raises(SchemaMismatchError, match="no column `session_id`; give every merge key"):
        lake.merge(SESSIONS, sessions(), ["session_id"], deletes=pa.table({"id": ["bob-1"]}))


def test_a_merge_that_adds_a_column_and_deletes_adds_only_that_column(lake: Lakehouse) -> None:
    upserts = sessions(("cat-1", "cat", 1)).append_column("pages", pa.array([4], pa.int64()))

    lake.merge(SESSIONS, upserts, ["session_id"], deletes=keys("bob-1"), evolve_schema={"pages"})

    assert lake.schema(SESSIONS).names == [*SCHEMA.names, "pages"]
    assert sorted(lake.read(SESSIONS)["session_id"].to_pylist()) == [
        "cat-1",
        "kept-session-1",
        "merged-away-17",
    ]


def test_the_row_of_an_erased_person_can_be_deleted(tmp_path: Path) -> None:
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    guard = PersonGuard(SuppressionList(store), {SESSIONS: frozenset({"user_id"})})
    lake = Lakehouse(tmp_path / "lake", guard=guard)
    lake.append(SESSIONS, sessions(("zoe-1", "zoe", 1), ("max-1", "max", 1)))
    guard_of(lake).suppress(["zoe"], "request-1")
    delete_zoe = pa.table({"session_id": ["zoe-1"], "user_id": ["zoe"]})

    lake.merge(SESSIONS, sessions(("zoe-2", "zoe", 1)), ["session_id"], deletes=delete_zoe)

    assert content(lake) == [("max-1", "max", 1)]  # her row gone, her new one kept out
