"""Passwords, API keys and tokens never reach a log line or an audit entry."""

import logging

import httpx2 as httpx
import pytest

from dataplatform.testing import RunningGateway


def test_no_secret_is_logged_or_audited(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    url = gateway.url
    with caplog.at_level(logging.DEBUG):
        admin = gateway.admin
        httpx.post(
            f"{url}/admin/users",
            headers=admin,
            json={"username": "dana", "roles": ["viewer"], "password": "dana-first-password"},
        ).raise_for_status()
        httpx.patch(
            f"{url}/admin/users/dana", headers=admin, json={"password": "dana-second-password"}
        ).raise_for_status()
        wrong = httpx.post(
            f"{url}/auth/token", data={"username": "dana", "password": "a-wrong-guess-of-dana"}
        )
        token = httpx.post(
            f"{url}/auth/token", data={"username": "dana", "password": "dana-second-password"}
        ).json()["access_token"]
        key = httpx.post(
            f"{url}/admin/api-keys", headers=admin, json={"name": "job", "roles": ["viewer"]}
        ).json()["key"]
        httpx.get(f"{url}/mobile/tables", headers={"Authorization": f"Bearer {key}"})
        httpx.get(f"{url}/mobile/tables", headers={"Authorization": f"Bearer {token}"})
        gateway.services.audit.flush()

    secrets = [
        "dana-first-password",
        "dana-second-password",
        "a-wrong-guess-of-dana",
        key,
        token,
        gateway.admin_password,
    ]
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    audited = "\n".join(repr(row) for row in gateway.services.audit_log.rows())
    assert wrong.status_code == 401
    assert "dana" in audited and "/mobile/tables" in logged  # both were written to
    for secret in secrets:
        assert secret not in logged
        assert secret not in audited
