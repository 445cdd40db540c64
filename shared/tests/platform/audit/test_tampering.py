"""Every way of damaging a published chain by hand is reported as a finding naming what is wrong,
and verifying never fails, whatever is missing; publishing refuses to paper over a lost copy."""

import pytest
from audit_tampering import (
    CHAIN_ROWS,
    TAMPERINGS,
    Tampering,
    delete_the_head,
    delete_the_published_copy,
    entry,
    published_chain,
    sql,
    stored_hash,
    truncate_the_tail,
)

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.platform.audit import AUDIT_TABLE, AuditLog, publish_audit_log, verify

# `shared_store` (conftest.py): one migrated store per database (SQLite, PostgreSQL) per module.


@pytest.fixture
def store(shared_store: MetadataStore, lake: Lakehouse) -> MetadataStore:
    """The ten entries of `audit_tampering`, chained and published to `lake` afresh."""
    published_chain(shared_store, lake)
    return shared_store


def test_the_published_chain_verifies(store: MetadataStore, lake: Lakehouse) -> None:
    report = verify(store, lake)

    assert report.ok, report.message
    assert report.findings == []
    assert (report.rows_checked, report.published_seq) == (CHAIN_ROWS, CHAIN_ROWS)
    assert AuditLog(store).published_head() == (CHAIN_ROWS, stored_hash(store, CHAIN_ROWS))


@pytest.mark.parametrize("case", TAMPERINGS, ids=[case.name for case in TAMPERINGS])
def test_each_tampering_is_a_finding_naming_what_is_wrong(
    store: MetadataStore, lake: Lakehouse, case: Tampering
) -> None:
    case.tamper(store, lake)

    report = verify(store, lake)

    assert not report.ok
    assert case.found_in(report), report.findings
    assert (report.problem, report.message) == (report.findings[0].kind, report.findings[0].message)


def test_a_deleted_head_leaves_the_rest_of_the_chain_checked(
    store: MetadataStore, lake: Lakehouse
) -> None:
    delete_the_head(store, lake)
    sql(store, "update audit_log set actor = 'mallory' where seq = 7")

    report = verify(store, lake)

    assert [(f.kind, f.seq) for f in report.findings] == [("missing_head", None), ("edited", 7)]
    assert "resolve the other findings first" in report.findings[0].message


def test_a_deleted_head_is_told_how_to_be_restored(store: MetadataStore, lake: Lakehouse) -> None:
    last_hash = stored_hash(store, CHAIN_ROWS)
    delete_the_head(store, lake)

    report = verify(store, lake)

    assert (report.head_seq, report.rows_checked) == (CHAIN_ROWS, CHAIN_ROWS)
    assert (
        f"insert into audit_chain_head (id, seq, hash) values (1, {CHAIN_ROWS}, '{last_hash}')"
        in report.message
    )


def test_appending_without_a_head_is_refused_saying_what_to_do(
    store: MetadataStore, lake: Lakehouse
) -> None:
    delete_the_head(store, lake)

    with pytest.raises(TerminalError, match=r"head row .* is missing.*dataplatform audit verify"):
        AuditLog(store).append([entry(11)])

    assert AuditLog(store).rows(after=CHAIN_ROWS) == []


def test_a_deleted_copy_and_a_cut_tail_are_both_reported(
    store: MetadataStore, lake: Lakehouse
) -> None:
    truncate_the_tail(store, lake)
    delete_the_published_copy(store, lake)

    report = verify(store, lake)

    assert [(f.kind, f.seq) for f in report.findings] == [("truncated", 9), ("missing_copy", 1)]


def test_a_chain_rewritten_after_its_copy_was_deleted_is_caught_by_the_published_head(
    store: MetadataStore, lake: Lakehouse
) -> None:
    delete_the_published_copy(store, lake)
    sql(store, "update audit_log set hash = :h where seq = :seq", h="f" * 64, seq=CHAIN_ROWS)
    sql(store, "update audit_chain_head set hash = :h where id = 1", h="f" * 64)

    report = verify(store, lake)

    assert ("rewritten", CHAIN_ROWS) in [(f.kind, f.seq) for f in report.findings]


def test_publishing_refuses_to_replace_a_deleted_copy(
    store: MetadataStore, lake: Lakehouse
) -> None:
    delete_the_published_copy(store, lake)

    with pytest.raises(TerminalError, match="is gone, but rows up to 10 were published"):
        publish_audit_log(store, lake)

    assert not lake.exists(AUDIT_TABLE)
    assert not verify(store, lake).ok


def test_publishing_afresh_accepts_the_loss_and_verifies_again(
    store: MetadataStore, lake: Lakehouse
) -> None:
    delete_the_published_copy(store, lake)
    # The operator's `dataplatform audit publish --afresh` runs in a process of its own.
    operator_lake = Lakehouse(lake.root)

    assert publish_audit_log(store, operator_lake, afresh=True) == CHAIN_ROWS
    assert verify(store, operator_lake).ok


def test_each_publication_moves_the_published_head_forward(
    store: MetadataStore, lake: Lakehouse
) -> None:
    AuditLog(store).append([entry(11), entry(12)])
    publish_audit_log(store, lake)
    sql(store, "delete from audit_log where seq > 10")
    sql(
        store,
        "update audit_chain_head set seq = 10, hash = :h where id = 1",
        h=stored_hash(store, 10),
    )

    report = verify(store, lake)

    assert AuditLog(store).published_head() is not None
    assert (report.first_bad_seq, report.problem) == (11, "truncated")
    assert "rows 11-12 were deleted" in report.message
