"""Removing a column's `pii` tag unmasks it for every reader, so it takes `pii:admin`: a data
steward is refused (and audited), an admin or a role granted `pii:admin` is allowed (and
audited), and tagging a column `pii` (which only hides more) stays a steward's job."""

import httpx2 as httpx
import pyarrow as pa

from dataplatform.core.access import MASK
from dataplatform.platform.audit import AuditEntry
from dataplatform.testing import RunningGateway

SUMMARY = "mobile_user_analytics.gold.user_summary"


def write_summary(gateway: RunningGateway) -> None:
    gateway.services.lake.append(
        SUMMARY,
        pa.table(
            {
                "user_id": ["user-1"],
                "sessions": pa.array([3], pa.int64()),
                "platforms": ["ios"],
            }
        ),
    )


def user_ids_seen(gateway: RunningGateway, headers: dict[str, str]) -> list[object]:
    response = httpx.get(f"{gateway.url}/mobile/tables/user_summary", headers=headers)
    assert response.status_code == 200, response.text
    return [row["user_id"] for row in response.json()["rows"]]


def column_tags(gateway: RunningGateway, column: str) -> list[str]:
    table = httpx.get(f"{gateway.url}/catalog/tables/{SUMMARY}", headers=gateway.admin).json()
    (found,) = [entry for entry in table["columns"] if entry["name"] == column]
    return list(found["tags"])


def audited(gateway: RunningGateway, action: str) -> list[AuditEntry]:
    gateway.services.audit.flush()
    return [row.entry for row in gateway.services.audit_log.rows() if row.entry.action == action]


def test_a_steward_cannot_unmask_a_pii_column(gateway: RunningGateway) -> None:
    write_summary(gateway)
    viewer = gateway.headers_for("vic", ["viewer"])
    steward = gateway.headers_for("stella", ["data-steward"])
    url = f"{gateway.url}/catalog/tables/{SUMMARY}"

    # Sneaking a harmless change in beside it does not get the unmasking through, nor itself.
    refused = httpx.patch(
        url,
        json={"description": "Per user.", "columns": {"user_id": {"tags": []}}},
        headers=steward,
    )
    refused_by_null = httpx.patch(
        url, json={"columns": {"user_id": {"tags": None, "description": "x"}}}, headers=steward
    )

    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "`user_id`" in refused.json()["detail"]
    assert "`pii:admin`" in refused.json()["detail"]
    # `null` puts back the declared tags, which hold `pii` here: nothing is unmasked.
    assert refused_by_null.status_code == 200, refused_by_null.text
    assert "pii" in column_tags(gateway, "user_id")
    table = httpx.get(url, headers=gateway.admin).json()
    assert table["description"] != "Per user."
    assert user_ids_seen(gateway, viewer) == [MASK]
    (attempt,) = audited(gateway, "catalog.unmask")
    assert (attempt.actor, attempt.outcome, attempt.status) == ("stella", "failure", 403)
    assert (attempt.table_name, attempt.detail) == (SUMMARY, {"columns": ["user_id"]})


def test_an_admin_or_a_pii_admin_role_may_unmask_and_it_is_audited(
    gateway: RunningGateway,
) -> None:
    write_summary(gateway)
    viewer = gateway.headers_for("vic", ["viewer"])
    created = httpx.post(
        f"{gateway.url}/admin/roles",
        headers=gateway.admin,
        json={"name": "pii-steward", "permissions": ["catalog:write", "pii:admin"]},
    )
    pii_steward = gateway.headers_for("paula", ["pii-steward"])
    url = f"{gateway.url}/catalog/tables/{SUMMARY}"

    by_admin = httpx.patch(url, json={"columns": {"user_id": {"tags": []}}}, headers=gateway.admin)
    seen_unmasked = user_ids_seen(gateway, viewer)
    retagged = httpx.patch(url, json={"columns": {"user_id": {"tags": None}}}, headers=viewer)
    restored = httpx.patch(
        url, json={"columns": {"user_id": {"tags": None}}}, headers=gateway.admin
    )
    by_role = httpx.patch(url, json={"columns": {"user_id": {"tags": []}}}, headers=pii_steward)

    assert created.status_code == 201, created.text
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["changed"] == {
        "columns": {"user_id": {"tags": {"from": ["pii"], "to": []}}}
    }
    assert seen_unmasked == ["user-1"]
    assert retagged.status_code == 403  # a viewer may not edit the catalog at all
    assert restored.status_code == 200
    assert by_role.status_code == 200, by_role.text
    unmaskings = [
        (e.actor, e.outcome, e.status, e.detail) for e in audited(gateway, "catalog.unmask")
    ]
    assert unmaskings == [
        ("admin", "success", 200, {"columns": ["user_id"]}),
        ("paula", "success", 200, {"columns": ["user_id"]}),
    ]


def test_a_steward_may_still_tag_a_column_pii(gateway: RunningGateway) -> None:
    write_summary(gateway)
    viewer = gateway.headers_for("vic", ["viewer"])
    steward = gateway.headers_for("stella", ["data-steward"])

    tagged = httpx.patch(
        f"{gateway.url}/catalog/tables/{SUMMARY}",
        json={"columns": {"platforms": {"tags": ["pii", "device"]}}},
        headers=steward,
    )
    # Changing the other tags of a PII column keeps `pii`: nothing is unmasked.
    retagged = httpx.patch(
        f"{gateway.url}/catalog/tables/{SUMMARY}",
        json={"columns": {"platforms": {"tags": ["pii"]}}},
        headers=steward,
    )
    rows = httpx.get(f"{gateway.url}/mobile/tables/user_summary", headers=viewer).json()["rows"]

    assert tagged.status_code == 200, tagged.text
    assert retagged.status_code == 200, retagged.text
    assert rows == [{"user_id": MASK, "sessions": 3, "platforms": MASK}]
    assert audited(gateway, "catalog.unmask") == []
