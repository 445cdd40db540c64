"""Tampering with the chain by hand, with plain SQL, is detected and the first bad row named."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import (
    GENESIS_HASH,
    AuditEntry,
    content_hash,
    publish_audit_log,
    verify,
)

# `chain` (conftest.py): the entries 1..10 at seq 1..10, with `sql`, `hash` and `entry` helpers.


def insert_row(chain, seq: int, forged: AuditEntry, prev_hash: str) -> None:  # type: ignore[no-untyped-def]
    """A row written straight into the table, with a hash computed the way the chain does."""
    chain.sql(
        "insert into audit_log (seq, recorded_at, actor, actor_kind, action, outcome, method, "
        "route, status, table_name, row_count, pii, request_id, detail, prev_hash, hash) values "
        "(:seq, :recorded_at, :actor, :actor_kind, :action, :outcome, :method, :route, :status, "
        ":table_name, :row_count, :pii, :request_id, :detail, :prev_hash, :hash)",
        seq=seq,
        **{
            **asdict(forged),
            "detail": orjson.dumps(forged.detail, option=orjson.OPT_SORT_KEYS).decode(),
        },
        prev_hash=prev_hash,
        hash=content_hash(seq, forged, prev_hash),
    )


def move(chain, seq: int, to: int) -> None:  # type: ignore[no-untyped-def]
    chain.sql("update audit_log set seq = :to where seq = :seq", seq=seq, to=to)


def swap(chain, first: int, second: int) -> None:  # type: ignore[no-untyped-def]
    move(chain, first, -1)
    move(chain, second, first)
    move(chain, -1, second)


def rewrite_from(chain, seq: int, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Edit row `seq` and recompute every hash from it on, and the head: a careful forger."""
    previous = chain.hash(seq - 1) if seq > 1 else GENESIS_HASH
    for row in chain.log.rows(after=seq - 1):
        changed = replace(row.entry, actor=actor) if row.seq == seq else row.entry
        digest = content_hash(row.seq, changed, previous)
        chain.sql(
            "update audit_log set actor = :actor, prev_hash = :prev, hash = :hash where seq = :seq",
            actor=changed.actor,
            prev=previous,
            hash=digest,
            seq=row.seq,
        )
        previous = digest
    chain.sql("update audit_chain_head set hash = :hash where id = 1", hash=previous)


def edit_and_rehash_row_4(chain) -> None:  # type: ignore[no-untyped-def]
    forged = replace(chain.entry(4), actor="mallory")
    chain.sql(
        "update audit_log set actor = 'mallory', hash = :hash where seq = 4",
        hash=content_hash(4, forged, chain.hash(3)),
    )


def delete_row_5_and_renumber(chain) -> None:  # type: ignore[no-untyped-def]
    chain.sql("delete from audit_log where seq = 5")
    for seq in range(6, 11):
        move(chain, seq, seq - 1)
    chain.sql("update audit_chain_head set seq = 9")


def insert_forged_row_5(chain) -> None:  # type: ignore[no-untyped-def]
    for seq in range(10, 4, -1):
        move(chain, seq, seq + 1)
    forged = replace(chain.entry(5), actor="mallory", detail={"forged": True})
    insert_row(chain, 5, forged, chain.hash(4))
    chain.sql("update audit_chain_head set seq = 11")


def add_row_past_the_head(chain) -> None:  # type: ignore[no-untyped-def]
    insert_row(chain, 11, chain.entry(11), chain.hash(10))


def edit_and_rehash_the_last_row(chain) -> None:  # type: ignore[no-untyped-def]
    forged = replace(chain.entry(10), row_count=0)
    chain.sql(
        "update audit_log set row_count = 0, hash = :hash where seq = 10",
        hash=content_hash(10, forged, chain.hash(9)),
    )


@dataclass(frozen=True)
class Tampering:
    name: str
    tamper: Callable[[Any], None]
    first_bad_seq: int
    problem: str
    message: str


def sql(statement: str, **params: object) -> Callable[[Any], None]:
    return lambda chain: chain.sql(statement, **params)


TAMPERINGS = [
    Tampering(
        "edit the actor of row 4",
        sql("update audit_log set actor = 'mallory' where seq = 4"),
        4,
        "edited",
        "row 4's content no longer matches its hash: it was edited after it was appended.",
    ),
    Tampering(
        "edit the row count of row 7",
        sql("update audit_log set row_count = 700 where seq = 7"),
        7,
        "edited",
        "row 7's content no longer matches its hash",
    ),
    Tampering(
        "move the time of row 6 an hour later",
        sql(
            "update audit_log set recorded_at = :t where seq = 6",
            t=datetime(2026, 3, 2, 10, tzinfo=UTC),
        ),
        6,
        "edited",
        "row 6's content no longer matches its hash",
    ),
    Tampering(
        "make the detail of row 3 unreadable",
        sql("update audit_log set detail = '{not json' where seq = 3"),
        3,
        "edited",
        "row 3's content no longer matches its hash",
    ),
    Tampering(
        "edit row 4 and recompute its hash",
        edit_and_rehash_row_4,
        4,
        "edited",
        "row 5 was chained to a row 4 hashing to",
    ),
    Tampering(
        "delete row 5",
        sql("delete from audit_log where seq = 5"),
        5,
        "deleted",
        "row 5 is missing: the chain goes from row 4 straight to row 6.",
    ),
    Tampering(
        "delete rows 5 and 6",
        sql("delete from audit_log where seq in (5, 6)"),
        5,
        "deleted",
        "rows 5-6 are missing: the chain goes from row 4 straight to row 7.",
    ),
    Tampering(
        "delete row 1",
        sql("delete from audit_log where seq = 1"),
        1,
        "deleted",
        "row 1 is missing: the chain starts at row 2.",
    ),
    Tampering(
        "delete row 5 and renumber the rest and the head",
        delete_row_5_and_renumber,
        5,
        "deleted",
        "row 5 holds the entry appended as row 6: 1 row(s) before it were deleted",
    ),
    Tampering(
        "swap rows 4 and 6",
        lambda chain: swap(chain, 4, 6),
        4,
        "reordered",
        "row 4 holds the entry appended as row 6: rows were moved out of their order.",
    ),
    Tampering(
        "swap the last two rows",
        lambda chain: swap(chain, 9, 10),
        9,
        "reordered",
        "row 9 holds the entry appended as row 10",
    ),
    Tampering(
        "insert a forged row 5 and renumber the rest and the head",
        insert_forged_row_5,
        5,
        "inserted",
        "row 6 holds the entry appended as row 5: 1 row(s) were inserted from row 5 on",
    ),
    Tampering(
        "delete the last two rows",
        sql("delete from audit_log where seq > 8"),
        9,
        "truncated",
        "the head says the chain reaches row 10, but it ends at row 8: rows 9-10 were deleted.",
    ),
    Tampering(
        "change the head's hash",
        sql("update audit_chain_head set hash = :h", h="f" * 64),
        10,
        "head",
        "the head records row 10 with hash ffffffffffff…",
    ),
    Tampering(
        "edit the last row and recompute its hash",
        edit_and_rehash_the_last_row,
        10,
        "head",
        "the head or that row was rewritten",
    ),
    Tampering(
        "add a row past the head",
        add_row_past_the_head,
        11,
        "head",
        "row 11 lies past the head (row 10)",
    ),
]


def test_an_intact_chain_verifies(chain) -> None:
    report = verify(chain.store)

    assert report.ok, report.message
    assert (report.rows_checked, report.head_seq) == (10, 10)
    assert (report.first_bad_seq, report.problem) == (None, None)
    assert report.message == "audit chain intact: 10 rows verified, head at row 10"


def test_an_empty_chain_verifies(chain) -> None:
    chain.empty()

    report = verify(chain.store)

    assert report.ok, report.message
    assert (report.rows_checked, report.head_seq) == (0, 0)


def test_small_chunks_walk_the_whole_chain(chain) -> None:
    chain.sql("update audit_log set actor = 'mallory' where seq = 8")

    report = verify(chain.store, chunk_rows=3)

    assert (report.ok, report.first_bad_seq, report.rows_checked) == (False, 8, 7)


@pytest.mark.parametrize("case", TAMPERINGS, ids=[case.name for case in TAMPERINGS])
def test_tampering_is_detected_at_the_first_bad_row(chain, case: Tampering) -> None:
    case.tamper(chain)

    report = verify(chain.store)

    assert not report.ok
    assert (report.first_bad_seq, report.problem) == (case.first_bad_seq, case.problem)
    assert case.message in report.message


def test_a_tail_cut_off_with_the_head_moved_back_is_caught_by_the_published_copy(
    chain, lake: Lakehouse
) -> None:
    publish_audit_log(chain.store, lake)
    chain.sql("delete from audit_log where seq > 8")
    chain.sql("update audit_chain_head set seq = 8, hash = :h", h=chain.hash(8))

    alone = verify(chain.store)
    against_the_copy = verify(chain.store, lake)

    assert alone.ok, "the database alone cannot tell a consistent shorter chain"
    assert not against_the_copy.ok
    assert (against_the_copy.first_bad_seq, against_the_copy.problem) == (9, "truncated")
    assert "the published copy holds rows up to 10, but the chain ends at row 8" in (
        against_the_copy.message
    )


def test_a_chain_rewritten_hashes_and_head_included_is_caught_by_the_published_copy(
    chain, lake: Lakehouse
) -> None:
    publish_audit_log(chain.store, lake)
    rewrite_from(chain, 5, "mallory")

    alone = verify(chain.store)
    against_the_copy = verify(chain.store, lake)

    assert alone.ok, "the database alone cannot tell a chain rewritten with its hashes"
    assert (against_the_copy.first_bad_seq, against_the_copy.problem) == (5, "rewritten")
    assert "row 5 differs from its published copy" in against_the_copy.message


def test_rows_newer_than_the_published_copy_verify_against_it(chain, lake: Lakehouse) -> None:
    publish_audit_log(chain.store, lake)
    chain.log.append([chain.entry(11), chain.entry(12)])

    report = verify(chain.store, lake)

    assert report.ok, report.message
    assert (report.rows_checked, report.published_seq) == (12, 10)
    assert report.message.endswith("the published copy agrees up to row 10")
