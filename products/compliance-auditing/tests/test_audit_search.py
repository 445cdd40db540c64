"""`/compliance/audit` and `/compliance/audit/verify` over the hand-made audit log of
`audit_calendar()` (36 entries; see conftest.py), through a real gateway."""

from typing import Any

import httpx2 as httpx
import pytest


@pytest.fixture(scope="module")
def auditor(reports: Any) -> dict[str, str]:
    return reports.gateway.headers_for("aud-search", ["auditor", "pii-reader"])


def search(reports: Any, headers: dict[str, str], **params: Any) -> Any:
    response = httpx.get(f"{reports.gateway.url}/compliance/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_calendar_has_thirty_six_entries(reports: Any) -> None:
    # 7 key entries; ivy and ole 10 days each and new once (21); 09-30 10:00 ivy and ole (2);
    # the second publication (6).
    assert len(reports.chain) == 7 + 21 + 2 + 6


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "ivy"}, 12),
        ({"action": "keys"}, 2),  # a prefix matches the actions under it: keys.create
        ({"action": "keys.create"}, 2),
        ({"action": "key"}, 0),  # ... whole segments only
        ({"action": "data.read", "actor": "key:etl"}, 2),
        ({"outcome": "failure"}, 1),
        ({"table": "mobile_user_analytics.gold.user_summary"}, 3),
        ({"since": "2026-10-01T00:00:00Z"}, 4),
        ({"since": "2026-10-01T00:00:00Z", "until": "2026-10-01T12:00:00Z"}, 2),
        ({"since": "2026-10-01T02:00:00+02:00", "until": "2026-10-01T11:00:00Z"}, 1),
    ],
)
def test_filters(
    reports: Any, auditor: dict[str, str], params: dict[str, Any], expected: int
) -> None:
    assert len(search(reports, auditor, limit=1000, **params)["rows"]) == expected


def test_rows_come_newest_first_with_their_detail(reports: Any, auditor: dict[str, str]) -> None:
    rows = search(reports, auditor, actor="pat")["rows"]

    assert [(r["seq"], r["action"], r["pii"], r["row_count"]) for r in rows] == [
        (34, "data.read", True, 3)
    ]
    assert rows[0]["detail"] == {
        "columns": ["user_id", "events"],
        "roles": ["pii-reader", "viewer"],
    }
    assert rows[0]["hash"] == reports.chain[33]["hash"]


def test_who_acted_and_the_detail_are_masked_without_pii_read(reports: Any) -> None:
    # The platform tags them PII in its catalog: an entry's detail may name a person.
    plain = reports.gateway.headers_for("aud-plain", ["auditor"])

    row = search(reports, plain, actor="pat")["rows"][0]

    assert (row["seq"], row["actor"], row["detail"]) == (34, "***", "***")


def test_pages_never_skip_or_repeat(reports: Any, auditor: dict[str, str]) -> None:
    seqs, sizes, cursor = [], [], None
    while True:
        page = search(
            reports, auditor, actor="ole", limit=5, **({"cursor": cursor} if cursor else {})
        )
        sizes.append(len(page["rows"]))
        seqs += [row["seq"] for row in page["rows"]]
        if (cursor := page["next_cursor"]) is None:
            break

    assert sizes == [5, 5, 1]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 11


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, "query.until"),
        ({"since": "last tuesday"}, "query.since"),
        ({"outcome": "maybe"}, "query.outcome"),
        ({"action": "Data Read"}, "query.action"),
        ({"table": "users"}, "query.table"),
        ({"limit": 1001}, "query.limit"),
        ({"cursor": "bogus"}, "query.cursor"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    reports: Any, auditor: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = httpx.get(f"{reports.gateway.url}/compliance/audit", params=params, headers=auditor)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_the_hand_made_chain_verifies(reports: Any, auditor: dict[str, str]) -> None:
    response = httpx.get(f"{reports.gateway.url}/compliance/audit/verify", headers=auditor)

    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    assert (answer["rows_checked"], answer["last_seq"]) == (36, 36)
    assert answer["last_hash"] == reports.chain[-1]["hash"]
    assert answer["version"] == 2  # created, then two publications


def test_search_and_verify_need_audit_read(reports: Any) -> None:
    viewer = reports.gateway.headers_for("view-only", ["viewer"])
    for path in ("/compliance/audit", "/compliance/audit/verify"):
        assert httpx.get(f"{reports.gateway.url}{path}").status_code == 401
        assert httpx.get(f"{reports.gateway.url}{path}", headers=viewer).status_code == 403
