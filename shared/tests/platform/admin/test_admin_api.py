"""The admin API on SQLite and PostgreSQL: users, roles, sources, product configuration,
deployments; every change audited, never with a secret in it."""

import httpx2 as httpx
import pytest
from sqlalchemy import text

from dataplatform.core.product import get_product
from dataplatform.platform.audit import AuditRow
from dataplatform.testing import RunningGateway, app_events


def audit_trail(gateway: RunningGateway) -> list[AuditRow]:
    gateway.services.audit.flush()
    return gateway.services.audit_log.rows()


def login(gateway: RunningGateway, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/auth/token", data={"username": username, "password": password}
    )


def test_users_are_created_changed_and_disabled(gateway_on_each_database: RunningGateway) -> None:
    gateway = gateway_on_each_database
    admin = gateway.admin
    url = f"{gateway.url}/admin/users"

    generated = httpx.post(url, headers=admin, json={"username": "ana", "roles": ["viewer"]})
    chosen = httpx.post(
        url,
        headers=admin,
        json={"username": "bob", "roles": ["auditor"], "password": "bob-chose-this-one"},
    )
    password = generated.json()["password"]
    assert generated.status_code == 201 and len(password) >= 20
    assert "password" not in chosen.json()
    assert login(gateway, "ana", password).status_code == 200
    assert login(gateway, "bob", "bob-chose-this-one").status_code == 200

    changed = httpx.patch(f"{url}/ana", headers=admin, json={"roles": ["viewer", "pii-reader"]})
    assert changed.json()["roles"] == ["viewer", "pii-reader"]
    disabled = httpx.delete(f"{url}/bob", headers=admin)
    assert disabled.json()["disabled_at"] is not None
    assert login(gateway, "bob", "bob-chose-this-one").status_code == 401
    listed = {user["username"]: user for user in httpx.get(url, headers=admin).json()["users"]}
    assert set(listed) == {"admin", "ana", "bob"}
    assert listed["ana"]["last_login_at"] is not None

    with gateway.services.store.session() as session:
        hashes = dict(session.execute(text("select username, password_hash from users")).all())
    assert hashes["ana"].startswith("$argon2id$") and password not in hashes["ana"]
    trail = [row.entry for row in audit_trail(gateway)]
    changes = [(e.action, e.detail.get("username")) for e in trail if e.action.startswith("admin.")]
    assert changes == [
        ("admin.users.create", "ana"),
        ("admin.users.create", "bob"),
        ("admin.users.update", "ana"),
        ("admin.users.disable", "bob"),
    ]
    assert all(e.actor == "admin" for e in trail if e.action.startswith("admin."))
    assert not any(password in repr(e) or "bob-chose-this-one" in repr(e) for e in trail)
    logins = [(e.actor, e.outcome) for e in trail if e.action == "auth.login"]
    assert ("bob", "failure") in logins and ("ana", "success") in logins


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"username": "Ana Smith", "roles": ["viewer"]}, "username", "lower-case letters"),
        ({"username": "ana", "roles": ["viewer"], "password": "short"}, "password", "12"),
        ({"username": "ana", "roles": ["viwer"]}, "roles[0]", "Did you mean `viewer`?"),
        ({"username": "ana", "roles": []}, "body.roles", "at least 1 item"),
        ({"username": "ana", "roles": ["viewer"], "admin": True}, "body.admin", "Extra inputs"),
    ],
)
def test_a_bad_user_is_refused_naming_the_field(
    gateway: RunningGateway, body: dict[str, object], field: str, says: str
) -> None:
    response = httpx.post(f"{gateway.url}/admin/users", headers=gateway.admin, json=body)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert says in response.json()["detail"]


@pytest.mark.parametrize("days", [0, 36_501, 3_000_000])
def test_an_api_key_lifetime_out_of_range_is_refused_naming_it(
    gateway: RunningGateway, days: int
) -> None:
    body = {"name": "ci-reader", "roles": ["viewer"], "expires_in_days": days}

    response = httpx.post(f"{gateway.url}/admin/api-keys", headers=gateway.admin, json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "body.expires_in_days"
    assert "from 1 to 36500" in response.json()["detail"]
    assert gateway.services.auth.keys.list() == []


def test_a_user_name_is_taken_once(gateway: RunningGateway) -> None:
    body = {"username": "ana", "roles": ["viewer"]}
    url = f"{gateway.url}/admin/users"

    httpx.post(url, headers=gateway.admin, json=body)
    again = httpx.post(url, headers=gateway.admin, json=body)

    assert again.status_code == 409
    assert again.json()["detail"] == "A user named `ana` already exists."


def test_custom_roles_grant_exactly_their_permissions(
    gateway_on_each_database: RunningGateway,
) -> None:
    gateway = gateway_on_each_database
    url = f"{gateway.url}/admin/roles"
    created = httpx.post(
        url,
        headers=gateway.admin,
        json={"name": "web-reader", "permissions": ["product:web-user-analytics:read"]},
    )
    assert created.status_code == 201
    reader = gateway.headers_for("wendy", ["web-reader"])

    assert httpx.get(f"{gateway.url}/web/tables", headers=reader).status_code == 200
    assert httpx.get(f"{gateway.url}/mobile/tables", headers=reader).status_code == 403

    httpx.put(
        f"{url}/web-reader",
        headers=gateway.admin,
        json={"permissions": ["product:mobile-user-analytics:read"]},
    ).raise_for_status()
    assert httpx.get(f"{gateway.url}/mobile/tables", headers=reader).status_code == 200
    assert httpx.get(f"{gateway.url}/web/tables", headers=reader).status_code == 403


def test_roles_refuse_unknown_permissions_and_built_in_changes(gateway: RunningGateway) -> None:
    url = f"{gateway.url}/admin/roles"

    unknown = httpx.post(
        url,
        headers=gateway.admin,
        json={"name": "typo", "permissions": ["catalog:read", "catalog:wrte"]},
    )
    unknown_product = httpx.post(
        url, headers=gateway.admin, json={"name": "typo", "permissions": ["product:shop:read"]}
    )
    builtin = httpx.put(f"{url}/viewer", headers=gateway.admin, json={"permissions": ["admin"]})
    delete_builtin = httpx.delete(f"{url}/admin", headers=gateway.admin)

    assert unknown.status_code == 422 and unknown.json()["field"] == "permissions[1]"
    assert "Did you mean `catalog:write`?" in unknown.json()["detail"]
    assert unknown_product.status_code == 422
    assert builtin.status_code == 409 and delete_builtin.status_code == 409
    assert "built-in role" in builtin.json()["detail"]


def test_sources_made_through_the_api_send_events_until_revoked(
    gateway_on_each_database: RunningGateway,
) -> None:
    gateway = gateway_on_each_database
    manager = gateway.headers_for("sam", ["source-manager"])
    url = f"{gateway.url}/admin/sources"
    event = {"type": "screen", "name": "Home", "userId": "u1", "messageId": "m-1"}

    def send(write_key: str) -> int:
        return httpx.post(f"{gateway.url}/v1/screen", json=event, auth=(write_key, "")).status_code

    created = httpx.post(
        url,
        headers=manager,
        json={"name": "ios-app", "kind": "ios", "product": "mobile-user-analytics"},
    )
    first_key = created.json()["write_key"]
    assert created.status_code == 201
    assert send(first_key) == 200

    second_key = httpx.post(f"{url}/ios-app/rotate", headers=manager).json()["write_key"]
    assert (send(first_key), send(second_key)) == (401, 200)

    revoked = httpx.delete(f"{url}/ios-app", headers=manager)
    assert revoked.json()["active"] is False
    assert send(second_key) == 401
    listed = httpx.get(url, headers=manager).text
    assert first_key not in listed and second_key not in listed
    actions = [
        row.entry.action
        for row in audit_trail(gateway)
        if row.entry.actor == "sam" and row.entry.action != "auth.login"
    ]
    assert actions == ["sources.create", "sources.rotate", "sources.revoke"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "watch", "product": "mobile-user-analytics"}, "kind"),
        ({"name": "x", "kind": "ios", "product": "mobile-analytics"}, "product"),
        ({"name": "x", "kind": "web", "product": "mobile-user-analytics"}, "kind"),
    ],
)
def test_a_bad_source_names_the_field(
    gateway: RunningGateway, body: dict[str, str], field: str
) -> None:
    response = httpx.post(f"{gateway.url}/admin/sources", headers=gateway.admin, json=body)

    assert response.status_code == 422 and response.json()["field"] == field


def test_product_configuration_changes_are_validated_and_versioned(
    gateway_on_each_database: RunningGateway,
) -> None:
    gateway = gateway_on_each_database
    url = f"{gateway.url}/admin/products/web-user-analytics/config"

    before = httpx.get(url, headers=gateway.admin).json()
    first = httpx.put(
        url, headers=gateway.admin, json={"values": {"schedule_seconds": 45}, "comment": "slower"}
    )
    second = httpx.put(url, headers=gateway.admin, json={"values": {"schedule_seconds": 20}})
    bad_value = httpx.put(url, headers=gateway.admin, json={"values": {"schedule_seconds": 0}})
    bad_key = httpx.put(url, headers=gateway.admin, json={"values": {"schedule_secnds": 5}})

    assert before["version"] is None
    # What the files say, before anything is stored.
    in_files = get_product("web-user-analytics").settings().schedule_seconds
    assert before["settings"]["schedule_seconds"] == in_files
    assert first.json()["version"] == 1 and first.json()["settings"]["schedule_seconds"] == 45
    assert second.json()["version"] == 2 and second.json()["settings"]["schedule_seconds"] == 20
    # The field names the key, so a form shows the error beside it.
    assert bad_value.status_code == 422 and bad_value.json()["field"] == "values.schedule_seconds"
    assert "`schedule_seconds` = 0" in bad_value.json()["detail"]
    assert bad_key.status_code == 422 and bad_key.json()["field"] == "values.schedule_secnds"
    assert "Did you mean `schedule_seconds`?" in bad_key.json()["detail"]
    versions = httpx.get(f"{url}/versions", headers=gateway.admin).json()["versions"]
    assert [(v["version"], v["values"], v["changed_by"]) for v in versions] == [
        (2, {"schedule_seconds": 20}, "admin"),
        (1, {"schedule_seconds": 45}, "admin"),
    ]
    assert versions[1]["comment"] == "slower"
    listed = httpx.get(f"{gateway.url}/admin/products", headers=gateway.admin).json()
    web = next(p for p in listed["products"] if p["name"] == "web-user-analytics")
    assert web["config_version"] == 2


def test_a_stored_value_an_environment_variable_overrides_is_reported(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_SCHEDULE_SECONDS", "15")
    url = f"{gateway.url}/admin/products/web-user-analytics/config"

    answer = httpx.put(url, headers=gateway.admin, json={"values": {"schedule_seconds": 45}})

    assert answer.json()["pinned_by_environment"] == ["schedule_seconds"]
    assert answer.json()["settings"]["schedule_seconds"] == 15


def test_versions_are_compared_and_one_is_put_back(gateway: RunningGateway) -> None:
    url = f"{gateway.url}/admin/products/web-user-analytics/config"
    for seconds in (45, 20):
        saved = httpx.put(
            url, headers=gateway.admin, json={"values": {"schedule_seconds": seconds}}
        )
        assert saved.status_code == 200

    diff = httpx.get(f"{url}/diff?from_version=1&to_version=2", headers=gateway.admin).json()
    from_files = httpx.get(f"{url}/diff?from_version=0&to_version=1", headers=gateway.admin)
    back = httpx.post(f"{url}/versions/1/rollback", headers=gateway.admin)
    missing = httpx.post(f"{url}/versions/9/rollback", headers=gateway.admin)

    assert diff["changes"] == [{"key": "schedule_seconds", "before": 45, "after": 20}]
    assert from_files.json()["changes"] == [
        {"key": "schedule_seconds", "before": None, "after": 45}
    ]
    assert back.status_code == 200
    assert (back.json()["version"], back.json()["stored"]) == (3, {"schedule_seconds": 45})
    assert back.json()["settings"]["schedule_seconds"] == 45
    assert missing.status_code == 404 and "no configuration version 9" in missing.text
    history = httpx.get(f"{url}/versions", headers=gateway.admin).json()["versions"]
    assert history[0]["comment"] == "rolled back to version 1"


def test_a_restart_is_asked_for_and_listed_with_the_product(gateway: RunningGateway) -> None:
    asked = httpx.post(
        f"{gateway.url}/admin/products/web-user-analytics/restart", headers=gateway.admin
    )
    unknown = httpx.post(f"{gateway.url}/admin/products/nope/restart", headers=gateway.admin)

    assert asked.status_code == 202
    assert (asked.json()["status"], asked.json()["recorded_by"]) == ("restart_requested", "admin")
    listed = httpx.get(f"{gateway.url}/admin/products", headers=gateway.admin).json()
    web = next(p for p in listed["products"] if p["name"] == "web-user-analytics")
    assert web["deployment_status"] == "restart_requested" and web["since"]
    assert unknown.status_code == 404


def test_snapshots_are_taken_listed_and_restored(gateway: RunningGateway) -> None:
    lake = gateway.services.lake
    table = "web_user_analytics.bronze.clickstream"
    lake.append(table, app_events("e1"))  # any rows: the table's versions are what matter
    taken = httpx.post(
        f"{gateway.url}/admin/snapshots", headers=gateway.admin, json={"label": "before"}
    )
    lake.append(table, app_events("e2"))
    again = httpx.post(
        f"{gateway.url}/admin/snapshots", headers=gateway.admin, json={"label": "before"}
    )
    bad = httpx.post(
        f"{gateway.url}/admin/snapshots", headers=gateway.admin, json={"label": "../x"}
    )
    restored = httpx.post(f"{gateway.url}/admin/snapshots/before/restore", headers=gateway.admin)

    assert taken.status_code == 201 and taken.json()["tables"] >= 1
    assert again.status_code == 400 and "already exists" in again.text
    assert bad.status_code == 422 and bad.json()["field"] == "body.label"
    assert restored.json()["restored"] == {table: taken_version(gateway, "before", table)}
    assert lake.read(table).num_rows == 1
    listed = httpx.get(f"{gateway.url}/admin/snapshots", headers=gateway.admin).json()
    assert [s["label"] for s in listed["snapshots"]] == ["before"]


def taken_version(gateway: RunningGateway, label: str, table: str) -> int:
    from dataplatform.core.connectors.lakehouse import Snapshots

    snapshots = Snapshots(gateway.services.lake, gateway.services.store)
    return snapshots.get(label).versions[table]


def test_deployments_are_recorded_and_listed(gateway_on_each_database: RunningGateway) -> None:
    gateway = gateway_on_each_database
    url = f"{gateway.url}/admin/deployments"
    release = {
        "product": "web-user-analytics",
        "version": "1.4.0",
        "environment": "prod",
        "status": "succeeded",
        "detail": "canary passed",
    }

    recorded = httpx.post(url, headers=gateway.admin, json=release)
    unknown = httpx.post(url, headers=gateway.admin, json={**release, "product": "web-analytics"})
    bad_status = httpx.post(url, headers=gateway.admin, json={**release, "status": "meh"})
    listed = httpx.get(url, params={"product": "web-user-analytics"}, headers=gateway.admin)

    assert recorded.status_code == 201
    assert unknown.status_code == 422 and unknown.json()["field"] == "product"
    assert bad_status.status_code == 422 and bad_status.json()["field"] == "body.status"
    (deployment,) = listed.json()["deployments"]
    assert {key: deployment[key] for key in release} == release
    assert deployment["recorded_by"] == "admin"
