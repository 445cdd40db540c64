"""`/auth`: the OAuth2 password flow that turns a user name and password into an access token."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from dataplatform.core.access import AUTHENTICATED, Principal, public, require
from dataplatform.core.errors import AuthenticationError
from dataplatform.core.serving import JSONOut
from dataplatform.platform.audit import request_entry
from dataplatform.platform.gateway._services import Services, services


def auth_router() -> APIRouter:
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
        client = request.client.host if request.client else "unknown"
        await platform.login_limiter.admit(f"login:{client}")
        user = await anyio.to_thread.run_sync(
            platform.auth.users.authenticate, form.username, form.password
        )
        platform.audit.record(
            request_entry(
                request,
                Principal(form.username, "user", frozenset(), frozenset()),
                "auth.login",
                outcome="success" if user else "failure",
                status=200 if user else 401,
                detail={"client": client},
            )
        )
        if user is None:
            raise AuthenticationError("Wrong user name or password, or the user is disabled.")
        issued = platform.auth.tokens.issue(user.username)
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
