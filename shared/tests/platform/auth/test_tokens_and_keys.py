"""Access tokens and API keys at the gateway: what is accepted, what is refused and why."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import jwt
import pytest
from sqlalchemy import text

from dataplatform.core.errors import AuthenticationError, InvalidRequestError
from dataplatform.platform.auth import Tokens
from dataplatform.testing import TEST_JWT_SECRET, RunningGateway

ME = "/auth/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_token_from_the_password_flow_names_the_user_and_expires(gateway: RunningGateway) -> None:
    response = httpx.post(
        f"{gateway.url}/auth/token",
        data={"username": "admin", "password": gateway.admin_password},
    )

    body = response.json()
    lifetime = gateway.services.settings.auth.access_token_minutes * 60
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == lifetime
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "admin"
    assert claims["exp"] - claims["iat"] == lifetime  # type: ignore[operator]
    me = httpx.get(f"{gateway.url}{ME}", headers=bearer(body["access_token"]))
    assert me.json() == {
        "subject": "admin",
        "kind": "user",
        "roles": ["admin"],
        "permissions": ["admin"],
    }


@pytest.mark.parametrize(
    ("username", "password"), [("admin", "not-the-password"), ("nobody", "whatever-password")]
)
def test_a_wrong_password_or_user_gets_the_same_401(
    gateway: RunningGateway, username: str, password: str
) -> None:
    response = httpx.post(
        f"{gateway.url}/auth/token", data={"username": username, "password": password}
    )

    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong user name or password, or the user is disabled."


def forged(claims: dict[str, object], key: str, algorithm: str) -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def valid_claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "admin",
        "iss": "dataplatform",
        "aud": "dataplatform-api",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


# Tokens are made when the test runs, not when the module is collected: a token made at
# collection could expire before a slow run reaches its test, which then tests expiry instead.
@pytest.mark.parametrize(
    ("case", "make_token", "reason"),
    [
        (
            "alg none",
            lambda: jwt.encode(valid_claims(), None, algorithm="none"),
            "not signed with HS256",
        ),
        (
            "algorithm switched to HS512 with the same secret",
            lambda: forged(valid_claims(), TEST_JWT_SECRET, "HS512"),
            "not signed with HS256",
        ),
        (
            "signed with another secret",
            lambda: forged(valid_claims(), "another-secret-" + "0123456789" * 5, "HS256"),
            "Signature verification failed",
        ),
        (
            "expired",
            lambda: forged(
                valid_claims(exp=datetime.now(UTC) - timedelta(seconds=5)), TEST_JWT_SECRET, "HS256"
            ),
            "expired",
        ),
        (
            "no expiry",
            lambda: forged(valid_claims(exp=None), TEST_JWT_SECRET, "HS256"),
            'Token is missing the "exp" claim',
        ),
        (
            "another audience",
            lambda: forged(valid_claims(aud="someone-else"), TEST_JWT_SECRET, "HS256"),
            "Audience doesn't match",
        ),
        ("not a JWT", lambda: "not.a.jwt", "not valid"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_forged_or_broken_tokens_are_refused_with_the_reason(
    gateway: RunningGateway, case: str, make_token: Callable[[], str], reason: str
) -> None:
    response = httpx.get(f"{gateway.url}{ME}", headers=bearer(make_token()))

    assert response.status_code == 401, case
    assert reason in response.json()["detail"], response.json()["detail"]


def test_the_algorithm_is_pinned_by_the_verifier_not_the_token() -> None:
    tokens = Tokens(TEST_JWT_SECRET, "HS384", 5)
    hs256 = Tokens(TEST_JWT_SECRET, "HS256", 5).issue("ana").access_token

    assert tokens.subject(tokens.issue("ana").access_token) == "ana"
    with pytest.raises(AuthenticationError, match="only algorithm accepted"):
        tokens.subject(hs256)


def test_a_disabled_users_token_stops_working(gateway: RunningGateway) -> None:
    headers = gateway.headers_for("leaver", ["viewer"])
    assert httpx.get(f"{gateway.url}{ME}", headers=headers).status_code == 200

    httpx.patch(
        f"{gateway.url}/admin/users/leaver", headers=gateway.admin, json={"disabled": True}
    ).raise_for_status()

    response = httpx.get(f"{gateway.url}{ME}", headers=headers)
    assert response.status_code == 401
    assert "does not exist or is disabled" in response.json()["detail"]


def test_an_api_key_is_shown_once_stored_hashed_and_grants_its_roles(
    gateway: RunningGateway,
) -> None:
    created = httpx.post(
        f"{gateway.url}/admin/api-keys",
        headers=gateway.admin,
        json={"name": "etl-job", "roles": ["viewer"], "expires_in_days": 7},
    )
    secret = created.json()["key"]

    assert created.status_code == 201 and secret.startswith("dpk_")
    listed = httpx.get(f"{gateway.url}/admin/api-keys", headers=gateway.admin).text
    assert secret not in listed and created.json()["api_key"]["key_prefix"] == secret[:12]
    with gateway.services.store.session() as session:
        stored = session.execute(text("select * from api_keys")).all()
    assert secret not in repr(stored)
    me = httpx.get(f"{gateway.url}{ME}", headers=bearer(secret)).json()
    assert me["subject"] == "key:etl-job" and me["kind"] == "api_key"
    assert "product:*:read" in me["permissions"]
    alternative = httpx.get(f"{gateway.url}{ME}", headers={"X-API-Key": secret})
    assert alternative.json()["subject"] == "key:etl-job"


def test_a_revoked_key_is_refused_at_once(gateway: RunningGateway) -> None:
    secret = httpx.post(
        f"{gateway.url}/admin/api-keys",
        headers=gateway.admin,
        json={"name": "short-lived", "roles": ["viewer"]},
    ).json()["key"]
    assert httpx.get(f"{gateway.url}{ME}", headers=bearer(secret)).status_code == 200

    httpx.delete(f"{gateway.url}/admin/api-keys/short-lived", headers=gateway.admin)

    response = httpx.get(f"{gateway.url}{ME}", headers=bearer(secret))
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is unknown, revoked or expired."


def test_an_expired_key_is_refused(gateway: RunningGateway) -> None:
    _, secret = gateway.services.auth.keys.create("old-key", ["viewer"], "test", 1)
    with gateway.services.store.session() as session:
        session.execute(
            text("update api_keys set expires_at = :past where name = 'old-key'"),
            {"past": datetime.now(UTC) - timedelta(minutes=1)},
        )

    assert httpx.get(f"{gateway.url}{ME}", headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize("days", [0, 36_501, 3_000_000])
def test_a_key_lifetime_out_of_range_is_refused_before_any_date_arithmetic(
    gateway: RunningGateway, days: int
) -> None:
    # The CLI creates keys here too, without the API's validation in front.
    with pytest.raises(InvalidRequestError, match="from 1 to 36500") as refused:
        gateway.services.auth.keys.create("long-key", ["viewer"], "test", days)

    assert refused.value.field == "expires_in_days"


def test_a_bad_authorization_header_says_what_to_send(gateway: RunningGateway) -> None:
    basic = httpx.get(f"{gateway.url}{ME}", headers={"Authorization": "Basic YWRtaW46eA=="})
    missing = httpx.get(f"{gateway.url}{ME}")

    assert basic.status_code == 401
    assert "must be `Bearer <access token or API key>`" in basic.json()["detail"]
    assert "POST /auth/token" in missing.json()["detail"]
