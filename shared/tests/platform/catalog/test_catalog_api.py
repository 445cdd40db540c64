"""`/catalog` through a real gateway on loopback: permissions, paging, edits and their audit,
lineage, and PII masking that follows the catalog's tags end to end."""

import json

import httpx2 as httpx
import pyarrow as pa

from dataplatform.core.access import MASK
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.testing import RunningGateway, app_events

BRONZE = "mobile_user_analytics.bronze.app_events"
SILVER = "mobile_user_analytics.silver.app_events"
SUMMARY = "mobile_user_analytics.gold.user_summary"


def test_catalog_permissions_edits_and_audit(gateway_on_each_database: RunningGateway) -> None:
    gateway = gateway_on_each_database
    viewer = gateway.headers_for("vera", ["viewer"])
    steward = gateway.headers_for("stella", ["data-steward"])
    url = f"{gateway.url}/catalog/tables/{BRONZE}"
    change = {"retention_days": 90, "columns": {"event": {"description": "What was done."}}}

    anonymous = httpx.get(f"{gateway.url}/catalog/tables")
    read = httpx.get(url, headers=viewer)
    refused = httpx.patch(url, json=change, headers=viewer)
    changed = httpx.patch(url, json=change, headers=steward)
    reread = httpx.get(url, headers=viewer)

    assert anonymous.status_code == 401
    assert read.status_code == 200
    assert refused.status_code == 403
    assert changed.status_code == 200, changed.text
    assert changed.json()["changed"] == {
        "retention_days": {"from": 395, "to": 90},
        "columns": {"event": {"description": {"from": "", "to": "What was done."}}},
    }
    assert reread.json()["retention_days"] == 90
    gateway.services.audit.flush()
    (entry,) = [
        row.entry
        for row in gateway.services.audit_log.rows()
        if row.entry.action == "catalog.update"
    ]
    assert (entry.actor, entry.actor_kind, entry.table_name) == ("stella", "user", BRONZE)
    assert entry.detail == changed.json()["changed"]


INVALID_EDITS = [
    ({"columns": {"devise_id": {"tags": ["pii"]}}}, "columns.devise_id", "`device_id`"),
    ({"retention_days": 0}, "body.retention_days", "greater than 0"),
    ({"tags": ["pii"]}, "body.tags", "tag the column instead"),
    ({"colour": "red"}, "body.colour", "Extra inputs"),
    ({}, None, "sets nothing"),
]


def test_refusals_are_problems_naming_what_was_wrong(gateway: RunningGateway) -> None:
    headers = gateway.admin
    edits = [
        httpx.patch(f"{gateway.url}/catalog/tables/{SILVER}", json=body, headers=headers)
        for body, _, _ in INVALID_EDITS
    ]
    unknown = httpx.get(
        f"{gateway.url}/catalog/tables/mobile_user_analytics.gold.user_sumary", headers=headers
    )

    for response, (body, field, says) in zip(edits, INVALID_EDITS, strict=True):
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json().get("field") == field, body
        assert says in response.json()["detail"], body
    assert unknown.status_code == 404
    assert "Did you mean `mobile_user_analytics.gold.user_summary`?" in unknown.json()["detail"]


def test_listing_pages_through_every_table_once(gateway: RunningGateway) -> None:
    headers = gateway.admin
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{gateway.url}/catalog/tables", params=params, headers=headers).json()
        names += [table["name"] for table in page["tables"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    declared = sorted(
        get_product(name).table_name(table.name)
        for name in (
            "compliance-auditing",
            "mobile-user-analytics",
            "operational-metrics",
            "user-segmentation",
            "web-user-analytics",
        )
        for table in get_product(name).tables
    )
    filtered = httpx.get(
        f"{gateway.url}/catalog/tables",
        params={"product": "mobile-user-analytics", "layer": "bronze"},
        headers=headers,
    ).json()

    assert names == declared
    assert pages == -(-len(declared) // 7)
    assert [table["name"] for table in filtered["tables"]] == [BRONZE]
    assert "columns" not in filtered["tables"][0]


def test_search_and_lineage_routes(gateway: RunningGateway) -> None:
    services = gateway.services
    device = json.dumps({"device": {"id": "d1"}, "os": {"name": "iOS"}})
    services.lake.append(BRONZE, app_events("a", context=device))
    product = get_product("mobile-user-analytics")
    ModelRunner(product.model_graph(), services.lake, services.store).run()
    reader = gateway.headers_for("ada", ["auditor"])

    search = httpx.get(f"{gateway.url}/catalog/search", params={"q": "device_id"}, headers=reader)
    tables = httpx.get(
        f"{gateway.url}/catalog/lineage/{SILVER}", params={"direction": "upstream"}, headers=reader
    )
    device = httpx.get(
        f"{gateway.url}/catalog/lineage/{SILVER}",
        params={"direction": "upstream", "column": "device_id"},
        headers=reader,
    )
    silver = httpx.get(f"{gateway.url}/catalog/tables/{SILVER}", headers=reader)

    assert search.json()["hits"][0]["table"] == SILVER
    assert search.json()["hits"][0]["matched"] == ["column:device_id"]
    assert [node["id"] for node in tables.json()["nodes"]] == [BRONZE, SILVER]
    assert tables.json()["edges"] == [{"source": BRONZE, "target": SILVER, "model": SILVER}]
    # The device id is parsed out of the envelope's context, else the install's anonymous id.
    assert sorted(device.json()["edges"], key=lambda edge: edge["source"]) == [
        {"source": f"{BRONZE}.anonymous_id", "target": f"{SILVER}.device_id", "model": SILVER},
        {"source": f"{BRONZE}.context", "target": f"{SILVER}.device_id", "model": SILVER},
    ]
    # Reading one table brings its statistics up to date.
    assert silver.json()["row_count"] == 1


def test_pii_masking_follows_the_catalog_tags(gateway: RunningGateway) -> None:
    gateway.services.lake.append(
        SUMMARY,
        pa.table(
            {
                "user_id": ["user-1", "user-2"],
                "sessions": pa.array([3, 1], pa.int64()),
                "platforms": ["ios", "android"],
            }
        ),
    )
    viewer = gateway.headers_for("vic", ["viewer"])
    cleared = gateway.headers_for("pia", ["viewer", "pii-reader"])
    steward = gateway.headers_for("sam", ["data-steward"])
    rows_url = f"{gateway.url}/mobile/tables/user_summary"

    def rows(headers: dict[str, str]) -> list[dict[str, object]]:
        response = httpx.get(rows_url, headers=headers)
        assert response.status_code == 200, response.text
        return sorted(response.json()["rows"], key=lambda row: row["sessions"])

    masked = rows(viewer)
    clear = rows(cleared)
    tagged = httpx.patch(
        f"{gateway.url}/catalog/tables/{SUMMARY}",
        json={"columns": {"platforms": {"tags": ["pii"]}}},
        headers=steward,
    )
    masked_more = rows(viewer)
    untagged = httpx.patch(  # unmasking takes pii:admin, which a steward lacks
        f"{gateway.url}/catalog/tables/{SUMMARY}",
        json={"columns": {"platforms": {"tags": None}}},
        headers=gateway.admin,
    )
    after_untagging = rows(viewer)

    assert masked == [
        {"user_id": MASK, "sessions": 1, "platforms": "android"},
        {"user_id": MASK, "sessions": 3, "platforms": "ios"},
    ]
    assert clear == [
        {"user_id": "user-2", "sessions": 1, "platforms": "android"},
        {"user_id": "user-1", "sessions": 3, "platforms": "ios"},
    ]
    assert tagged.status_code == 200, tagged.text
    assert masked_more == [
        {"user_id": MASK, "sessions": 1, "platforms": MASK},
        {"user_id": MASK, "sessions": 3, "platforms": MASK},
    ]
    assert untagged.json()["changed"] == {
        "columns": {"platforms": {"tags": {"from": ["pii"], "to": []}}}
    }
    assert [row["platforms"] for row in after_untagging] == ["android", "ios"]
