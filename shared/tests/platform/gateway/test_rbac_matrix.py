"""Every route of the gateway x every kind of caller gets the answer its declared permission says.

The cases come from the gateway's route table, so a new route joins the matrix by itself; a route
that declares no permission fails here (and the gateway refuses to start). A route with an example
request below must answer 2xx to the callers its permission admits. Any other route (a product's
`/users/{user_id}/...`, say) is called with placeholder path parameters and an empty JSON body:
an admitted caller then gets anything but 401, 403 or a server error (a 404 for an unknown user,
a 422 for the empty body), which still shows the permission let it through.
"""

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from fastapi import FastAPI

from dataplatform.core.access import PUBLIC, DeclaredRoute, Principal, declared_routes
from dataplatform.core.product import discover_products
from dataplatform.platform.gateway._app import gateway_routers
from dataplatform.platform.services import Services
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

CALLERS = (
    "no credential",
    "malformed token",
    "expired token",
    "alg none token",
    "viewer",
    "owner of another product",
    "admin",
)
UNAUTHENTICATED = CALLERS[:4]
PRODUCTS = {product.prefix: product for product in discover_products()}
CONSOLE = "/console"
_serial = itertools.count()


def route_table() -> list[DeclaredRoute]:
    """The gateway's routes, from the same routers the gateway mounts."""
    app = FastAPI()
    for router in gateway_routers():
        app.include_router(router)
    for product in PRODUCTS.values():
        app.include_router(product.router(product.context()), prefix=product.prefix)
    return declared_routes(app.routes)


ROUTES = [(method, route.path) for route in route_table() for method in route.methods]
PERMISSIONS = {
    (method, route.path): route.permissions for route in route_table() for method in route.methods
}


@dataclass
class Call:
    """One request: the path filled in, and what to send."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    placeholder: bool = False  # made up from the path: admitted need not mean 2xx


@dataclass
class Matrix:
    gateway: RunningGateway
    headers: dict[str, dict[str, str]]
    principals: dict[str, Principal]
    write_key: str
    owners: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.gateway.services


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


def new_user(matrix: Matrix) -> str:
    name = unique("target")
    matrix.services.auth.users.create(name, "a-password-of-length", ["viewer"], "matrix")
    return name


def new_role(matrix: Matrix) -> str:
    name = unique("custom")
    matrix.services.auth.roles.create(name, ["catalog:read"], "matrix")
    return name


def new_key(matrix: Matrix) -> str:
    name = unique("key")
    matrix.services.auth.keys.create(name, ["viewer"], "matrix", 30)
    return name


def new_source(matrix: Matrix) -> str:
    name = unique("source")
    matrix.services.sources.create(name, "web", "web-user-analytics")
    return name


def first_gold_table(prefix: str) -> str:
    tables = PRODUCTS[prefix].tables
    return next(t.name.split(".", 1)[1] for t in tables if t.name.startswith("gold."))


CATALOGUED = "mobile_user_analytics.silver.app_events"


# Requests for routes that need path parameters or a body. Each call makes its own objects, so a
# destructive call by one caller never changes what another caller's call finds.
EXAMPLES: dict[tuple[str, str], Callable[[Matrix], Call]] = {
    ("POST", "/auth/token"): lambda m: Call(
        "/auth/token", data={"username": "admin", "password": m.gateway.admin_password}
    ),
    ("POST", "/admin/users"): lambda m: Call(
        "/admin/users", json={"username": unique("new"), "roles": ["viewer"]}
    ),
    ("GET", "/admin/users/{username}"): lambda m: Call(f"/admin/users/{new_user(m)}"),
    ("PATCH", "/admin/users/{username}"): lambda m: Call(
        f"/admin/users/{new_user(m)}", json={"roles": ["auditor"]}
    ),
    ("DELETE", "/admin/users/{username}"): lambda m: Call(f"/admin/users/{new_user(m)}"),
    ("POST", "/admin/roles"): lambda m: Call(
        "/admin/roles", json={"name": unique("role"), "permissions": ["catalog:read"]}
    ),
    ("PUT", "/admin/roles/{name}"): lambda m: Call(
        f"/admin/roles/{new_role(m)}", json={"permissions": ["audit:read"]}
    ),
    ("DELETE", "/admin/roles/{name}"): lambda m: Call(f"/admin/roles/{new_role(m)}"),
    ("POST", "/admin/api-keys"): lambda m: Call(
        "/admin/api-keys", json={"name": unique("key"), "roles": ["viewer"]}
    ),
    ("DELETE", "/admin/api-keys/{name}"): lambda m: Call(f"/admin/api-keys/{new_key(m)}"),
    ("POST", "/admin/sources"): lambda m: Call(
        "/admin/sources",
        json={"name": unique("source"), "kind": "ios", "product": "mobile-user-analytics"},
    ),
    ("POST", "/admin/sources/{name}/rotate"): lambda m: Call(
        f"/admin/sources/{new_source(m)}/rotate"
    ),
    ("DELETE", "/admin/sources/{name}"): lambda m: Call(f"/admin/sources/{new_source(m)}"),
    ("GET", "/admin/products/{name}/config"): lambda m: Call(
        "/admin/products/web-user-analytics/config"
    ),
    ("PUT", "/admin/products/{name}/config"): lambda m: Call(
        "/admin/products/web-user-analytics/config",
        json={"values": {"schedule_seconds": 30}, "comment": "matrix"},
    ),
    ("GET", "/admin/products/{name}/config/versions"): lambda m: Call(
        "/admin/products/web-user-analytics/config/versions"
    ),
    ("POST", "/admin/deployments"): lambda m: Call(
        "/admin/deployments",
        json={
            "product": "web-user-analytics",
            "version": "1.2.3",
            "environment": "staging",
            "status": "succeeded",
        },
    ),
    ("GET", "/catalog/tables/{name}"): lambda m: Call(f"/catalog/tables/{CATALOGUED}"),
    ("PATCH", "/catalog/tables/{name}"): lambda m: Call(
        f"/catalog/tables/{CATALOGUED}", json={"description": unique("described")}
    ),
    ("GET", "/catalog/search"): lambda m: Call("/catalog/search?q=app_events"),
    ("GET", "/catalog/lineage/{name}"): lambda m: Call(f"/catalog/lineage/{CATALOGUED}"),
    **{
        ("GET", f"{prefix}/tables/{{table}}"): (
            lambda m, p=prefix: Call(f"{p}/tables/{first_gold_table(p)}")
        )
        for prefix in PRODUCTS
    },
}


def call_for(method: str, path: str, matrix: Matrix) -> Call:
    example = EXAMPLES.get((method, path))
    if example is not None:
        return example(matrix)
    filled = re.sub(r"\{[^}]+\}", "matrix-placeholder", path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return Call(filled, json=body, placeholder=filled != path or body is not None)


def product_of(path: str) -> str | None:
    prefix = "/" + path.split("/")[1]
    return PRODUCTS[prefix].name if prefix in PRODUCTS else None


def other_owner(path: str) -> str:
    """A product owner whose product is not the one `path` belongs to."""
    own = product_of(path)
    return next(name for name in sorted(p.name for p in PRODUCTS.values()) if name != own)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder: Path = tmp_path_factory.mktemp("matrix")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        services = gateway.services
        lifetime = timedelta(minutes=settings.auth.access_token_minutes)
        issued = datetime.now(UTC) - lifetime - timedelta(hours=1)
        expired = services.auth.tokens.issue("admin", now=issued)
        unsigned = jwt.encode(
            {"sub": "admin", "iss": "dataplatform", "aud": "dataplatform-api", "exp": 2**31},
            None,
            algorithm="none",
        )
        headers = {
            "no credential": {},
            "malformed token": {"Authorization": "Bearer not.a-jwt"},
            "expired token": {"Authorization": f"Bearer {expired.access_token}"},
            "alg none token": {"Authorization": f"Bearer {unsigned}"},
            "viewer": gateway.headers_for("viewer", ["viewer"]),
            "admin": gateway.admin,
        }
        owners = {
            product.name: gateway.headers_for(
                f"owner-{product.namespace}", [f"{product.name}-owner"]
            )
            for product in PRODUCTS.values()
        }
        principals = {
            "viewer": services.auth.users.principal("viewer"),
            "admin": services.auth.users.principal("admin"),
            **{
                product.name: services.auth.users.principal(f"owner-{product.namespace}")
                for product in PRODUCTS.values()
            },
        }
        _, write_key = services.sources.create("matrix-ios", "ios", "mobile-user-analytics")
        yield Matrix(gateway, headers, principals, write_key, owners)  # type: ignore[arg-type]


def test_every_route_declares_exactly_one_permission() -> None:
    undeclared = [f"{m} {p}" for (m, p), declared in PERMISSIONS.items() if len(declared) != 1]

    assert undeclared == [], "routes without exactly one require(...) / public(...)"


def test_the_matrix_covers_every_route_the_running_gateway_serves(matrix: Matrix) -> None:
    response = httpx.get(f"{matrix.gateway.url}/openapi.json")
    # The collector's paths take a write key, not a principal (see the test below).
    served = {
        (method.upper(), path)
        for path, operations in response.json()["paths"].items()
        for method, operation in operations.items()
        if "collector" not in operation.get("tags", [])
    }

    # /metrics and the console's pages are not API operations: the schema leaves them out.
    assert served == {(m, p) for m, p in ROUTES if p != "/metrics" and not p.startswith(CONSOLE)}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_answers_each_caller_as_its_permission_says(
    matrix: Matrix, method: str, path: str, caller: str
) -> None:
    (permission,) = PERMISSIONS[(method, path)]
    owner = other_owner(path)
    headers = matrix.headers[caller] if caller in matrix.headers else matrix.owners[owner]
    principal = matrix.principals.get(caller) or matrix.principals[owner]
    call = call_for(method, path, matrix)

    response = httpx.request(
        method,
        f"{matrix.gateway.url}{call.path}",
        headers=headers,
        json=call.json,
        data=call.data,
    )

    if permission == PUBLIC:
        expected = "2xx"
    elif caller in UNAUTHENTICATED:  # a console page sends the browser to its login instead
        expected = "303" if path.startswith(CONSOLE) else "401"
    else:
        expected = "2xx" if principal.can(permission) else "403"
    got = "2xx" if 200 <= response.status_code < 300 else str(response.status_code)
    if call.placeholder and expected == "2xx" and response.status_code in (404, 422):
        got = "2xx"  # admitted; the placeholder names nothing or the empty body is refused
    assert got == expected, f"{caller} -> {method} {call.path}: {response.text[:300]}"
    if expected == "303":
        assert response.headers["location"].startswith(f"{CONSOLE}/login?next=")
    if expected == "401":
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"


def segment_event() -> dict[str, Any]:
    return {"type": "track", "event": "opened", "userId": "u1", "messageId": unique("m")}


def posthog_event() -> dict[str, Any]:
    return {"event": "opened", "distinct_id": "u1", "uuid": unique("m"), "properties": {}}


# Segment takes the write key as the HTTP Basic user; PostHog as `api_key` in the body.
COLLECTOR_CALLS: dict[str, Callable[[str | None], dict[str, Any]]] = {
    "/v1/batch": lambda key: {"batch": [segment_event()], **({"writeKey": key} if key else {})},
    "/v1/track": lambda key: {**segment_event(), **({"writeKey": key} if key else {})},
    "/batch": lambda key: {"batch": [posthog_event()], **({"api_key": key} if key else {})},
    "/capture": lambda key: {**posthog_event(), **({"api_key": key} if key else {})},
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", COLLECTOR_CALLS)
def test_collector_paths_take_a_write_key_and_nothing_else(
    matrix: Matrix, path: str, caller: str
) -> None:
    owner = matrix.owners["web-user-analytics"]
    headers = matrix.headers.get(caller, owner)
    body = COLLECTOR_CALLS[path]

    refused = httpx.post(f"{matrix.gateway.url}{path}", headers=headers, json=body(None))
    accepted = httpx.post(f"{matrix.gateway.url}{path}", json=body(matrix.write_key))

    assert refused.status_code == 401, refused.text
    assert accepted.status_code == 200, accepted.text
