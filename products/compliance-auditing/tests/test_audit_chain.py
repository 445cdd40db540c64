"""The product's own check of the published audit chain, on hand-made chains of four rows:
the hashes are the platform's (`content_hash`), so a row the verifier accepts is one the
platform would have written."""

from datetime import date
from typing import Any

import pytest

from compliance_auditing.audit_chain import GENESIS_HASH, row_hash, verify_chain

DAY = date(2026, 10, 1)


@pytest.fixture
def four_rows(kit: Any) -> list[dict[str, Any]]:
    """ana logs in, reads twice (one read returning PII, with a nested detail), then an admin
    creates a key."""
    login = kit.replace(kit.read("ana", DAY, "t.gold.a", [], 0, []), action="auth.login", detail={})
    nested = kit.replace(
        kit.read("ana", DAY, "t.gold.a", ["b", "a"], 3, ["viewer"], pii=True, hour=13),
        detail={"roles": ["viewer"], "columns": ["b", "a"], "extra": {"z": 1, "a": [1.5, "é"]}},
    )
    return kit.Chain.of(
        [
            login,
            kit.read("ana", DAY, "t.gold.a", ["a"], 2, ["viewer"], hour=12),
            nested,
            kit.key_created("etl", DAY),
        ]
    ).rows


def test_hashes_a_row_as_the_platform_does(four_rows: list[dict[str, Any]]) -> None:
    # The nested detail's keys arrive unsorted and must be sorted at every depth.
    assert [row_hash(row) for row in four_rows] == [row["hash"] for row in four_rows]
    assert four_rows[0]["prev_hash"] == GENESIS_HASH


def test_an_intact_chain_verifies(four_rows: list[dict[str, Any]]) -> None:
    report = verify_chain(four_rows)

    assert report.ok
    assert (report.rows_checked, report.last_seq) == (4, 4)
    assert report.last_hash == four_rows[3]["hash"]


def test_an_edited_row_is_named(four_rows: list[dict[str, Any]]) -> None:
    four_rows[2] = {**four_rows[2], "row_count": 300}

    report = verify_chain(four_rows)

    assert not report.ok
    assert (report.first_bad_seq, report.problem, report.rows_checked) == (3, "edited", 2)
    assert "row 3 no longer hashes" in report.message


def test_an_edited_detail_is_named(four_rows: list[dict[str, Any]]) -> None:
    four_rows[1] = {**four_rows[1], "detail": '{"columns":["a","email"],"roles":["viewer"]}'}

    assert verify_chain(four_rows).first_bad_seq == 2


def test_a_deleted_row_is_a_gap(four_rows: list[dict[str, Any]]) -> None:
    del four_rows[1]

    report = verify_chain(four_rows)

    assert (report.first_bad_seq, report.problem) == (3, "gap")
    assert "row 2 is missing" in report.message


def test_a_row_rewritten_hashes_and_all_breaks_the_next_link(
    four_rows: list[dict[str, Any]],
) -> None:
    edited = {**four_rows[1], "actor": "mallory"}
    four_rows[1] = {**edited, "hash": row_hash(edited)}

    report = verify_chain(four_rows)

    assert (report.first_bad_seq, report.problem) == (3, "link")
    assert "does not point at row 2's hash" in report.message


def test_a_copy_that_starts_late_is_refused(four_rows: list[dict[str, Any]]) -> None:
    report = verify_chain(four_rows[1:])

    assert (report.first_bad_seq, report.problem) == (2, "start")


def test_a_detail_that_is_not_json_is_named(four_rows: list[dict[str, Any]]) -> None:
    four_rows[3] = {**four_rows[3], "detail": "{broken"}

    assert (verify_chain(four_rows).first_bad_seq, verify_chain(four_rows).problem) == (
        4,
        "unreadable",
    )


def test_nothing_published_is_nothing_to_verify() -> None:
    report = verify_chain([])

    assert report.ok
    assert report.rows_checked == 0
