"""The access reports through a real gateway, over the hand-made audit log of `audit_calendar()`
(see conftest.py); every figure below is counted by hand from that calendar."""

from typing import Any

import httpx2 as httpx
import pytest

USER_SUMMARY = "mobile_user_analytics.gold.user_summary"


@pytest.fixture(scope="module")
def auditor(reports: Any) -> dict[str, str]:
    """An auditor who may see who did what (the actors are PII, as in the platform's log)."""
    return reports.gateway.headers_for("ada-auditor", ["auditor", "pii-reader"])


def get(reports: Any, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{reports.gateway.url}/compliance{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def all_pages(reports: Any, headers: dict[str, str], path: str, **params: Any) -> list[list[Any]]:
    pages, cursor = [], None
    while True:
        page = get(reports, headers, path, **params, **({"cursor": cursor} if cursor else {}))
        pages.append(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_who_read_which_column(reports: Any, auditor: dict[str, str]) -> None:
    rows = get(reports, auditor, "/access-report", **{"from": "2026-10-01", "to": "2026-10-01"})[
        "rows"
    ]

    # ana read user_id and events twice (5 + 7 rows), pat once (3 rows).
    assert [(r["actor"], r["column_name"], r["reads"], r["rows_read"]) for r in rows] == [
        ("ana", "events", 2, 12),
        ("ana", "user_id", 2, 12),
        ("pat", "events", 1, 3),
        ("pat", "user_id", 1, 3),
    ]
    assert {r["table_name"] for r in rows} == {USER_SUMMARY}
    assert rows[0]["first_read_at"].startswith("2026-10-01T10:00:00")
    assert rows[0]["last_read_at"].startswith("2026-10-01T14:00:00")


def test_reads_of_one_day_add_up_across_publications(reports: Any, auditor: dict[str, str]) -> None:
    rows = get(
        reports, auditor, "/access-report", actor="ivy", column="views", **{"from": "2026-09-30"}
    )["rows"]

    # 60 rows at 10:00 in the first publication, 40 at 14:00 in the second.
    assert [(r["day"], r["reads"], r["rows_read"]) for r in rows] == [("2026-09-30", 2, 100)]


def test_column_reads_page_through_every_row(reports: Any, auditor: dict[str, str]) -> None:
    # ivy: 11 days x 3 columns.
    pages = all_pages(reports, auditor, "/access-report", actor="ivy", limit=10)

    assert [len(page) for page in pages] == [10, 10, 10, 3]
    keys = [(r["day"], r["column_name"]) for page in pages for r in page]
    assert len(set(keys)) == 33
    assert keys[0] == ("2026-09-30", "day") and keys[-1] == ("2026-09-20", "views")


def test_pii_reads_by_user_and_role(reports: Any, auditor: dict[str, str]) -> None:
    rows = get(reports, auditor, "/access-report/pii")["rows"]

    # Only pat's read returned PII; pat held two roles.
    assert [
        (r["day"], r["actor"], r["role"], r["table_name"], r["reads"], r["rows_read"]) for r in rows
    ] == [
        ("2026-10-01", "pat", "pii-reader", USER_SUMMARY, 1, 3),
        ("2026-10-01", "pat", "viewer", USER_SUMMARY, 1, 3),
    ]
    only_role = get(reports, auditor, "/access-report/pii", role="pii-reader")["rows"]
    assert [r["role"] for r in only_role] == ["pii-reader"]


def test_a_user_ten_times_above_their_baseline_is_flagged(
    reports: Any, auditor: dict[str, str]
) -> None:
    rows = get(reports, auditor, "/access-report/anomalies")["rows"]

    # ivy: 100 rows on 09-30 against 10 a day over the 10 days since her first read: 10x.
    # ole read 99 (9.9x); new read 500 with two days of history (7 needed).
    # key:etl read 30 rows on 09-14 after 28 days without a read (baseline 0, counted as 1).
    assert [
        (
            r["day"],
            r["actor"],
            r["rows_read"],
            r["history_days"],
            r["baseline_rows_per_day"],
            r["ratio"],
        )
        for r in rows
    ] == [
        ("2026-09-30", "ivy", 100, 10, 10.0, 10.0),
        ("2026-09-14", "key:etl", 30, 28, 0.0, 30.0),
    ]


def test_a_key_idle_for_forty_days_is_flagged(reports: Any, auditor: dict[str, str]) -> None:
    rows = get(reports, auditor, "/access-report/dormant-keys")["rows"]

    # key:bi waited 10 days after its creation; key:old has no creation on record.
    assert [
        (
            r["key_name"],
            r["used_at"][:10],
            r["idle_since"][:10],
            r["previous_activity"],
            r["idle_days"],
        )
        for r in rows
    ] == [("key:etl", "2026-09-14", "2026-08-05", "used", 40.0)]
    assert get(reports, auditor, "/access-report/dormant-keys", key="key:bi")["rows"] == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/access-report", {"from": "2026-10-02", "to": "2026-10-01"}, "query.from"),
        ("/access-report", {"from": "yesterday"}, "query.from"),
        ("/access-report", {"table": "user_summary"}, "query.table"),
        ("/access-report", {"column": "a;b"}, "query.column"),
        ("/access-report", {"limit": 0}, "query.limit"),
        ("/access-report", {"cursor": "not-a-cursor"}, "query.cursor"),
        ("/access-report/pii", {"role": "Pii Reader"}, "query.role"),
        ("/access-report/dormant-keys", {"key": "etl"}, "query.key"),
        ("/access-report/anomalies", {"actor": "x" * 201}, "query.actor"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    reports: Any, auditor: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    response = httpx.get(f"{reports.gateway.url}/compliance{path}", params=params, headers=auditor)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


def test_a_cursor_fits_only_its_own_filters(reports: Any, auditor: dict[str, str]) -> None:
    cursor = get(reports, auditor, "/access-report", actor="ivy", limit=10)["next_cursor"]

    response = httpx.get(
        f"{reports.gateway.url}/compliance/access-report",
        params={"actor": "ole", "limit": 10, "cursor": cursor},
        headers=auditor,
    )

    assert response.status_code == 422
    assert response.json()["field"] == "query.cursor"


def test_actors_are_masked_without_pii_read(reports: Any) -> None:
    plain = reports.gateway.headers_for("abe-auditor", ["auditor"])

    rows = get(reports, plain, "/access-report", **{"from": "2026-10-01"})["rows"]
    keys = get(reports, plain, "/access-report/dormant-keys")["rows"]

    assert [(r["actor"], r["column_name"]) for r in rows][:2] == [
        ("***", "events"),
        ("***", "user_id"),
    ]
    assert [r["key_name"] for r in keys] == ["***"]


def test_reports_need_audit_read(reports: Any) -> None:
    url = f"{reports.gateway.url}/compliance/access-report"
    viewer = reports.gateway.headers_for("vic-viewer", ["viewer"])

    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=viewer).status_code == 403
