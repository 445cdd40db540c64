"""Who is calling and what they may do: the contract between a product's routes and the platform.

Every route declares its permission next to its path, and nothing else about security:

    @router.get("/activity", dependencies=[require(product_permission("mobile-user-analytics", "read"))])

    @router.get("/users/{user_id}/summary")
    def summary(user_id: str, caller: Annotated[Principal, require(READ)], request: Request): ...

The platform (the gateway, or a product served alone) installs an `AccessControl` on the app as
`app.state.access`; `require` asks it who is calling and answers 401 or 403 itself. Without one,
every declared route is refused: default deny. Rows a route returns go through `serve_rows`, which
masks every column computed from one the catalog tags `pii` (unless the caller holds `pii:read`),
traced by the query's column lineage (`dataplatform.core.query_lineage`), and has the read of
each table written to the audit log.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from fastapi import Depends, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from dataplatform.core.errors import PermissionDeniedError, TerminalError
from dataplatform.core.query_lineage import AnswerLineage

ADMIN = "admin"
CATALOG_READ = "catalog:read"
CATALOG_WRITE = "catalog:write"
PII_READ = "pii:read"
# Unmasking PII for everyone (removing a column's `pii` tag) is more than reading it.
PII_ADMIN = "pii:admin"
AUDIT_READ = "audit:read"
SOURCES_WRITE = "sources:write"
METRICS_READ = "metrics:read"
# SQL over the lake (`POST /query`) and saving queries; silver tables in it need the second.
QUERY_RUN = "query:run"
QUERY_SILVER = "query:silver"
# Pseudo-permissions: any valid credential; no credential at all (health probes, the login form).
AUTHENTICATED = "authenticated"
PUBLIC = "public"
PLATFORM_PERMISSIONS = (
    ADMIN,
    CATALOG_READ,
    CATALOG_WRITE,
    PII_READ,
    PII_ADMIN,
    AUDIT_READ,
    SOURCES_WRITE,
    METRICS_READ,
    QUERY_RUN,
    QUERY_SILVER,
)
MASK = "***"

PrincipalKind = Literal["user", "api_key", "anonymous"]


def product_permission(product: str, action: Literal["read", "write"]) -> str:
    """`product:<name>:read` or `product:<name>:write`."""
    return f"product:{product}:{action}"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user, or an API key acting for its owner, with its permissions."""

    subject: str
    kind: PrincipalKind
    roles: frozenset[str]
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        """Whether the caller holds `permission`.

        `admin` holds everything; `product:*:read` every product's read; a product's `write`
        includes its `read`.
        """
        if permission == PUBLIC:
            return True
        if self.kind == "anonymous":
            return False
        if permission == AUTHENTICATED or ADMIN in self.permissions:
            return True
        if permission in self.permissions:
            return True
        if permission.startswith("product:"):
            _, product, action = permission.split(":", 2)
            implied = {f"product:*:{action}"}
            if action == "read":
                implied |= {f"product:{product}:write", "product:*:write"}
            return not implied.isdisjoint(self.permissions)
        return False


ANONYMOUS = Principal("anonymous", "anonymous", frozenset(), frozenset())


class AccessControl(Protocol):
    """What the platform provides to routes: authentication, PII policy and the read audit."""

    async def authenticate(self, request: Request) -> Principal:
        """The caller of `request`; raises `AuthenticationError` (401) or `RateLimitedError` (429)."""
        ...

    def pii_columns(self, table: str) -> frozenset[str]:
        """Columns of `table` tagged `pii` in the catalog."""
        ...

    def record_read(
        self,
        request: Request,
        caller: Principal,
        table: str,
        rows: int,
        pii_returned: bool,
        columns: Sequence[str] = (),
    ) -> None:
        """Append a data read (of `columns` of `table`) to the audit log (never blocks the request)."""
        ...

    def record_action(
        self,
        request: Request,
        caller: Principal,
        action: str,
        table: str | None = None,
        rows: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append something a caller did through a product (`compliance.erasure.delete`, ...)."""
        ...


def access_control(request: Request) -> AccessControl:
    """The app's `AccessControl`; refuses the request when the app was built without one."""
    access: AccessControl | None = getattr(request.app.state, "access", None)
    if access is None:
        raise TerminalError(
            "This app has no access control installed, so every declared route is refused; "
            "serve it through the gateway or `dataplatform serve --product NAME`."
        )
    return access


def require(permission: str) -> Any:
    """A dependency that admits callers holding `permission` (401 without a credential, 403 else)."""

    async def check_permission(request: Request) -> Principal:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            principal = await access_control(request).authenticate(request)
            request.state.principal = principal
        if not principal.can(permission):
            raise PermissionDeniedError(
                f"`{principal.subject}` lacks the permission `{permission}` that "
                f"{request.method} {request.url.path} requires; ask an admin for a role with it."
            )
        return principal

    check_permission.permission = permission  # type: ignore[attr-defined]
    return Depends(check_permission)


def public(reason: str) -> Any:
    """Declare a route open to anyone (health probes, the login form); `reason` says why."""

    async def open_to_anyone(request: Request) -> Principal:
        request.state.principal = ANONYMOUS
        return ANONYMOUS

    open_to_anyone.permission = PUBLIC  # type: ignore[attr-defined]
    open_to_anyone.reason = reason  # type: ignore[attr-defined]
    return Depends(open_to_anyone)


@dataclass(frozen=True)
class DeclaredRoute:
    """An API route as clients see it (the prefixes of included routers applied)."""

    path: str
    methods: tuple[str, ...]
    permissions: tuple[str, ...]
    include_in_schema: bool
    route: APIRoute


def declared_routes(routes: Sequence[BaseRoute]) -> list[DeclaredRoute]:
    """Every API route under `routes` (an app's routes), with the permissions it declares."""
    found = []
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute):
            found.append(
                DeclaredRoute(
                    context.path_format or "",
                    tuple(sorted(context.methods or ())),
                    tuple(declared_permissions(context)),
                    context.include_in_schema,
                    context.original_route,
                )
            )
    return found


def declared_permissions(route: Any) -> list[str]:
    """The permissions a route (anything with a `dependant`) declares, however deeply nested."""
    found: list[str] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        permission = getattr(dependant.call, "permission", None)
        if permission is not None:
            found.append(permission)
        pending.extend(dependant.dependencies)
    return sorted(set(found))


def route_template(scope: Mapping[str, Any]) -> str:
    """The template of the route that answered (`/mobile/tables/{table}`), for logs and audit.

    FastAPI records the route as declared in its router; the app keeps the full templates (with
    the prefixes it was mounted under) in `app.state.route_templates`.
    """
    route = scope.get("route")
    if route is None:
        return "unmatched"
    templates = getattr(getattr(scope.get("app"), "state", None), "route_templates", {})
    return str(templates.get(id(route)) or getattr(route, "path", "unmatched"))


def serve_rows(
    request: Request,
    caller: Principal,
    read: AnswerLineage | str,
    rows: Iterable[Mapping[str, Any]],
) -> list[Mapping[str, Any]]:
    """`rows` as the caller may see them, with the read of every table recorded in the audit log.

    `read` says where each column comes from (a table's name: the rows are that table's, as
    stored): a column computed from a column the catalog tags `pii`, whatever its name or table,
    or one whose lineage is unknown, is masked unless the caller holds `pii:read`. Masked rows
    are copies; `rows` themselves are never changed (a snapshot's cached page may be handed to
    many callers).
    """
    access = access_control(request)
    served: list[Mapping[str, Any]] = list(rows)
    if isinstance(read, str):
        read = AnswerLineage.whole_table(read, served[0].keys() if served else ())
    pii = {table: access.pii_columns(table) for table in read.tables_behind()}
    reveal = caller.can(PII_READ)
    if served and not reveal:
        hidden = read.hidden(pii, served[0].keys())
        if hidden:
            served = [_masked(dict(row), hidden) for row in served]
    for table in read.tables:
        access.record_read(
            request,
            caller,
            table,
            len(served),
            bool(served and reveal and read.carries_pii_of(table, pii.get(table, frozenset()))),
            read.columns_of(table) if served else (),
        )
    return served


def audit_action(
    request: Request,
    caller: Principal,
    action: str,
    *,
    table: str | None = None,
    rows: int | None = None,
    **detail: Any,
) -> None:
    """Write what `caller` did through a product route to the platform's audit log.

    `action` is dotted, starting with the product's area (`compliance.erasure.delete`); `detail`
    must be JSON and never hold a secret.
    """
    access_control(request).record_action(request, caller, action, table, rows, detail)


def _masked(row: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    for column in columns:
        if row.get(column) is not None:
            row[column] = MASK
    return row


def routes_without_permission(routes: Sequence[BaseRoute]) -> list[str]:
    """`METHOD path` of every API route that declares no permission (the gateway refuses them)."""
    return [
        f"{method} {declared.path}"
        for declared in declared_routes(routes)
        if not declared.permissions
        for method in declared.methods
    ]
