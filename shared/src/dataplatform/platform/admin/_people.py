"""`/admin/users`, `/admin/roles`, `/admin/api-keys`: who may call the platform, and with what."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.access import ADMIN, Principal, require
from dataplatform.core.bounds import LifetimeDays
from dataplatform.core.serving import JSONOut
from dataplatform.platform.auth import ApiKey, Role, User, generate_password
from dataplatform.platform.services import Services, services

Platform = Annotated[Services, Depends(services)]
Admin = Annotated[Principal, require(ADMIN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    username: str
    roles: list[str] = Field(min_length=1)
    password: str | None = Field(
        None, description="Leave out to have one generated and returned once."
    )


class UserChange(_Body):
    roles: list[str] | None = Field(None, min_length=1)
    password: str | None = None
    disabled: bool | None = None


class NewRole(_Body):
    name: str
    permissions: list[str]
    description: str = ""


class RoleChange(_Body):
    permissions: list[str]
    description: str | None = None


class NewApiKey(_Body):
    name: str
    roles: list[str] = Field(min_length=1)
    expires_in_days: LifetimeDays | None = Field(
        None, description="Lifetime; the configured default (auth.api_key_days) if left out."
    )


def people_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/users", summary="Every user with roles and state")
    def list_users(_: Admin, platform: Platform) -> JSONOut:
        return JSONOut({"users": [_user(user) for user in platform.auth.users.list()]})

    @router.post("/users", status_code=201, summary="Create a user (password generated if absent)")
    def create_user(body: NewUser, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        password = body.password or generate_password()
        user = platform.auth.users.create(body.username, password, body.roles, caller.subject)
        platform.record(
            request,
            caller,
            "admin.users.create",
            detail={"username": user.username, "roles": list(user.roles)},
        )
        shown: dict[str, Any] = {"user": _user(user)}
        if body.password is None:
            shown["password"] = password  # generated: shown this once
        return JSONOut(shown, status_code=201)

    @router.get("/users/{username}", summary="One user")
    def get_user(username: str, _: Admin, platform: Platform) -> JSONOut:
        return JSONOut(_user(platform.auth.users.get(username)))

    @router.patch("/users/{username}", summary="Change a user's roles, password or state")
    def change_user(
        username: str, body: UserChange, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        user = platform.auth.users.update(
            username, roles=body.roles, password=body.password, disabled=body.disabled
        )
        changed = sorted(body.model_dump(exclude_none=True))  # names only: never the password
        detail: dict[str, Any] = {"username": username, "changed": changed}
        if body.roles is not None:
            # A grant widens what the user sees: the audit says which roles, not only that.
            detail["roles"] = list(user.roles)
        platform.record(request, caller, "admin.users.update", detail=detail)
        return JSONOut(_user(user))

    @router.delete("/users/{username}", summary="Disable a user (kept for the audit trail)")
    def disable_user(username: str, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        user = platform.auth.users.update(username, disabled=True)
        platform.record(request, caller, "admin.users.disable", detail={"username": username})
        return JSONOut(_user(user))

    @router.get("/roles", summary="Every role and the permissions it grants")
    def list_roles(_: Admin, platform: Platform) -> JSONOut:
        return JSONOut({"roles": [_role(role) for role in platform.auth.roles.list()]})

    @router.post("/roles", status_code=201, summary="Create a role")
    def create_role(body: NewRole, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        role = platform.auth.roles.create(body.name, body.permissions, body.description)
        platform.record(
            request,
            caller,
            "admin.roles.create",
            detail={"role": role.name, "permissions": list(role.permissions)},
        )
        return JSONOut(_role(role), status_code=201)

    @router.put("/roles/{name}", summary="Change a role's permissions (not a built-in role)")
    def change_role(
        name: str, body: RoleChange, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        role = platform.auth.roles.update(name, body.permissions, body.description)
        platform.record(
            request,
            caller,
            "admin.roles.update",
            detail={"role": name, "permissions": list(role.permissions)},
        )
        return JSONOut(_role(role))

    @router.delete("/roles/{name}", summary="Delete a role (not a built-in role)")
    def delete_role(name: str, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        platform.auth.roles.delete(name)
        platform.record(request, caller, "admin.roles.delete", detail={"role": name})
        return JSONOut({"deleted": name})

    @router.get("/api-keys", summary="Every API key (never its secret)")
    def list_keys(_: Admin, platform: Platform) -> JSONOut:
        return JSONOut({"api_keys": [_key(key) for key in platform.auth.keys.list()]})

    @router.post(
        "/api-keys", status_code=201, summary="Create an API key; its secret is shown once"
    )
    def create_key(body: NewApiKey, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        days = body.expires_in_days or platform.settings.auth.api_key_days
        key, secret = platform.auth.keys.create(body.name, body.roles, caller.subject, days)
        platform.record(
            request, caller, "keys.create", detail={"name": key.name, "roles": list(key.roles)}
        )
        return JSONOut({"api_key": _key(key), "key": secret}, status_code=201)

    @router.delete("/api-keys/{name}", summary="Revoke an API key")
    def revoke_key(name: str, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        key = platform.auth.keys.revoke(name)
        platform.record(request, caller, "keys.revoke", detail={"name": name})
        return JSONOut(_key(key))

    return router


def _user(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "roles": list(user.roles),
        "created_at": user.created_at,
        "created_by": user.created_by,
        "disabled_at": user.disabled_at,
        "last_login_at": user.last_login_at,
    }


def _role(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "permissions": list(role.permissions),
        "builtin": role.builtin,
    }


def _key(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "key_prefix": key.key_prefix,
        "roles": list(key.roles),
        "created_at": key.created_at,
        "created_by": key.created_by,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "last_used_at": key.last_used_at,
    }
