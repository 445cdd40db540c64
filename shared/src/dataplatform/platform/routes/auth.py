"""`/auth`: the OAuth2 password flow that turns a user name and password into an access token."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from dataplatform.core.access import AUTHENTICATED, Principal, public, require
from dataplatform.core.errors import AuthenticationError, RateLimitedError
from dataplatform.core.serving import JSONOut
from dataplatform.platform.audit import request_entry
from dataplatform.platform.auth import IssuedToken, is_username
from dataplatform.platform.services import Services, services


def auth_router() -> APIRouter:
    """`/auth`: the token endpoint and who the caller is."""
    router = APIRouter(prefix="/auth", tags=["auth"])

    @router.post(
        "/token",
        dependencies=[public("the login form: the credential is what it hands out")],
        summary="Log in: user name and password for a short-lived bearer token",
    )
    async def token(
        request: Request,
        form: Annotated[OAuth2PasswordRequestForm, Depends()],
        platform: Annotated[Services, Depends(services)],
    ) -> JSONOut:
        issued = await log_in(request, platform, form.username, form.password)
        return JSONOut(
            {
                "access_token": issued.access_token,
                "token_type": issued.token_type,
                "expires_in": issued.expires_in,
            }
        )

    @router.get("/me", summary="Who the credential belongs to, and what it may do")
    async def me(caller: Annotated[Principal, require(AUTHENTICATED)]) -> JSONOut:
        return JSONOut(
            {
                "subject": caller.subject,
                "kind": caller.kind,
                "roles": sorted(caller.roles),
                "permissions": sorted(caller.permissions),
            }
        )

    return router


async def log_in(request: Request, platform: Services, username: str, password: str) -> IssuedToken:
    """An access token for `username`, whose `password` is checked; every attempt is audited,
    limited per client and counted against the account (`AuthenticationError` when refused,
    `RateLimitedError` while the client or the account is held back)."""
    # The peer, or the client a trusted proxy names (gateway.trusted_proxies), never a
    # header any client can write.
    client = request.client.host if request.client else "unknown"
    await platform.login_limiter.admit(f"login:{client}")
    # A name no user can have has no password to guess: it is never counted nor locked.
    counted = is_username(username)
    if counted:
        await _refuse_while_locked(request, platform, username, client)
    user = await anyio.to_thread.run_sync(platform.auth.users.authenticate, username, password)
    _record_login(request, platform, username, client, 200 if user else 401)
    if user is None:
        if counted:
            await _count_failure(request, platform, username, client)
        raise AuthenticationError("Wrong user name or password, or the user is disabled.")
    await anyio.to_thread.run_sync(platform.login_lockouts.succeeded, user.username)
    return platform.auth.tokens.issue(user.username)


async def _refuse_while_locked(
    request: Request, platform: Services, username: str, client: str
) -> None:
    """429 with Retry-After while `username` is locked, whatever the password."""
    seconds = await anyio.to_thread.run_sync(platform.login_lockouts.seconds_locked, username)
    if not seconds:
        return
    _record_login(request, platform, username, client, 429, locked=True)
    raise RateLimitedError(
        f"`{username}` is locked after too many failed logins; try again in {seconds} s.",
        seconds,
    )


async def _count_failure(request: Request, platform: Services, username: str, client: str) -> None:
    """Count the failed login against the account; audit the lockout it may start."""
    lockout = await anyio.to_thread.run_sync(platform.login_lockouts.failed, username)
    if lockout is None:
        return
    platform.audit.record(
        request_entry(
            request,
            _claimed(username),
            "auth.lockout",
            outcome="failure",
            status=401,
            detail={
                "client": client,
                "failures": lockout.failures,
                "locked_until": lockout.locked_until.isoformat(),
            },
        )
    )


def _record_login(
    request: Request,
    platform: Services,
    username: str,
    client: str,
    status: int,
    *,
    locked: bool = False,
) -> None:
    detail: dict[str, object] = {"client": client}
    if locked:
        detail["locked"] = True
    platform.audit.record(
        request_entry(
            request,
            _claimed(username),
            "auth.login",
            outcome="success" if status == 200 else "failure",
            status=status,
            detail=detail,
        )
    )


def _claimed(username: str) -> Principal:
    """The user a login form names (not yet, or never, proven)."""
    return Principal(username, "user", frozenset(), frozenset())
