"""`/compliance/lineage/{table}` over the hand-made edges of `lineage_edges()` (conftest.py):

bronze.app_events.user_id -> silver.app_events.user_id -> gold.user_summary.user_id
                                                       -> segmentation user_features.person_id
bronze.app_events.event   -> silver.app_events.event   -> gold.user_summary.last_event
                             silver.app_events.*       -> gold.user_summary.events (a count)
(silver.app_events.device_id -> gold.user_summary.devices: recorded before, no longer in force)
"""

from typing import Any

import httpx2 as httpx
import pytest

M = "mobile_user_analytics"
BRONZE, SILVER, SUMMARY = (
    f"{M}.bronze.app_events",
    f"{M}.silver.app_events",
    f"{M}.gold.user_summary",
)
FEATURES = "user_segmentation.gold.user_features"


@pytest.fixture(scope="module")
def steward(reports: Any) -> dict[str, str]:
    return reports.gateway.headers_for("cat-reader", ["auditor"])  # auditors hold catalog:read


def edges(
    reports: Any, headers: dict[str, str], table: str, **params: Any
) -> list[tuple[Any, ...]]:
    response = httpx.get(
        f"{reports.gateway.url}/compliance/lineage/{table}", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return [
        (
            r["direction"],
            r["depth"],
            f"{r['source_table'].split('.', 1)[1]}.{r['source_column']}",
            f"{r['target_table'].split('.', 1)[1]}.{r['target_column']}",
        )
        for r in response.json()["rows"]
    ]


def test_upstream_of_a_column_hop_by_hop(reports: Any, steward: dict[str, str]) -> None:
    found = edges(reports, steward, FEATURES, column="person_id", direction="upstream", depth=3)

    assert found == [
        ("upstream", 1, "gold.user_summary.user_id", "gold.user_features.person_id"),
        ("upstream", 2, "silver.app_events.user_id", "gold.user_summary.user_id"),
        ("upstream", 3, "bronze.app_events.user_id", "silver.app_events.user_id"),
    ]


def test_depth_limits_the_walk(reports: Any, steward: dict[str, str]) -> None:
    found = edges(reports, steward, FEATURES, column="person_id", direction="upstream", depth=1)

    assert [edge[1] for edge in found] == [1]


def test_downstream_of_a_table(reports: Any, steward: dict[str, str]) -> None:
    found = edges(reports, steward, BRONZE, direction="downstream", depth=2)

    # Only the edges in force: silver.device_id -> devices was replaced.
    assert found == [
        ("downstream", 1, "bronze.app_events.event", "silver.app_events.event"),
        ("downstream", 1, "bronze.app_events.user_id", "silver.app_events.user_id"),
        ("downstream", 2, "silver.app_events.*", "gold.user_summary.events"),
        ("downstream", 2, "silver.app_events.event", "gold.user_summary.last_event"),
        ("downstream", 2, "silver.app_events.user_id", "gold.user_summary.user_id"),
    ]


def test_downstream_of_a_column_leaves_counts_out(reports: Any, steward: dict[str, str]) -> None:
    found = edges(reports, steward, BRONZE, column="user_id", direction="downstream", depth=5)

    assert [edge[3] for edge in found] == [
        "silver.app_events.user_id",
        "gold.user_summary.user_id",
        "gold.user_features.person_id",
    ]


def test_upstream_of_a_count_takes_every_edge_into_its_table(
    reports: Any, steward: dict[str, str]
) -> None:
    found = edges(reports, steward, SUMMARY, column="events", direction="upstream")

    assert found == [
        ("upstream", 1, "silver.app_events.*", "gold.user_summary.events"),
        ("upstream", 2, "bronze.app_events.event", "silver.app_events.event"),
        ("upstream", 2, "bronze.app_events.user_id", "silver.app_events.user_id"),
    ]


def test_both_directions_of_a_column(reports: Any, steward: dict[str, str]) -> None:
    found = edges(reports, steward, SILVER, column="user_id", depth=1)

    assert found == [
        ("upstream", 1, "bronze.app_events.user_id", "silver.app_events.user_id"),
        ("downstream", 1, "silver.app_events.user_id", "gold.user_summary.user_id"),
    ]


def test_a_table_without_lineage_is_not_found(reports: Any, steward: dict[str, str]) -> None:
    response = httpx.get(
        f"{reports.gateway.url}/compliance/lineage/{M}.gold.retention", headers=steward
    )

    assert response.status_code == 404
    assert "No lineage is recorded" in response.json()["detail"]


@pytest.mark.parametrize(
    ("table", "params", "field"),
    [
        ("user_summary", {}, "path.table"),
        (SUMMARY, {"depth": 0}, "query.depth"),
        (SUMMARY, {"depth": 11}, "query.depth"),
        (SUMMARY, {"direction": "sideways"}, "query.direction"),
        (SUMMARY, {"column": "user id"}, "query.column"),
    ],
)
def test_bad_requests_name_the_field(
    reports: Any, steward: dict[str, str], table: str, params: dict[str, Any], field: str
) -> None:
    response = httpx.get(
        f"{reports.gateway.url}/compliance/lineage/{table}", params=params, headers=steward
    )

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_lineage_needs_catalog_read(reports: Any) -> None:
    url = f"{reports.gateway.url}/compliance/lineage/{SUMMARY}"
    nobody = reports.gateway.headers_for("no-roles", [])

    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=nobody).status_code == 403
