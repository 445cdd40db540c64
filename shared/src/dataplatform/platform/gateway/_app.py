"""Building the gateway (every product, the collector and the platform's APIs in one app) and the
app of one product served alone; both share auth, errors, request ids, limits and probes."""

import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dataplatform import __version__
from dataplatform.core.access import PUBLIC, declared_routes, routes_without_permission
from dataplatform.core.errors import TerminalError
from dataplatform.core.product import Product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.gateway._docs import docs_router
from dataplatform.platform.gateway._middleware import PathDispatch, RequestContext, first_segment
from dataplatform.platform.gateway._probes import probes_router
from dataplatform.platform.gateway._problems import install_problem_handlers
from dataplatform.platform.gateway._product_routes import (
    ProductRoutes,
    RefreshProductRoutes,
    route_templates,
)
from dataplatform.platform.services import Services

GZIP_MINIMUM_BYTES = 1000


def create_app(
    platform: Services,
    *,
    title: str,
    service: str,
    routers: Sequence[APIRouter],
    products: Sequence[Product],
    collector: FastAPI | None = None,
    on_shutdown: Sequence[Callable[[], Any]] = (),
) -> FastAPI:
    """An app serving `routers` and each product's router at its prefix, behind the platform's
    access control; with `collector`, its paths are answered by it (open to any origin)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything built at start (libraries, the app, the services) lives as long as the
        # process: moved out of the collector's sight, a full collection no longer walks millions
        # of objects while requests wait (measured: 140 ms pauses gone).
        gc.freeze()
        yield
        gc.unfreeze()  # what was frozen may be garbage by now (an app served in a test, say)
        for close in on_shutdown:
            result = close()
            if hasattr(result, "__await__"):
                await result
        platform.close()

    # /docs is the app's own route, with local files (`_docs.py`); ReDoc would load a CDN's.
    app = FastAPI(
        title=title, version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.services = platform
    app.state.access = platform.access
    app.state.lake = platform.lake
    app.state.tables = platform.tables
    install_problem_handlers(app)
    # Routes are matched in order: the products' data routes, the busiest, come first. Each
    # product's are built under its settings in force, and again when they change.
    product_routes = ProductRoutes(
        app,
        products,
        ProductConfigs(platform.store),
        platform.settings.gateway.config_check_seconds,
    )
    product_routes.mount()
    app.state.product_routes = product_routes
    for router in [*routers, docs_router(title)]:
        app.include_router(router)
    app.state.route_templates = route_templates(app.routes)
    missing = routes_without_permission(app.routes)
    if missing:
        raise TerminalError(
            "Every route must declare its permission with `require(...)` or `public(...)`; "
            f"these declare none: {', '.join(missing)}."
        )
    app.add_middleware(RefreshProductRoutes, products=product_routes)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=platform.settings.gateway.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-API-Key"],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    if collector is not None:
        app.add_middleware(
            PathDispatch, special=collector, first_segments=collector_segments(collector, app)
        )
    app.add_middleware(RequestContext, service=service)
    trusted_proxies = platform.settings.gateway.trusted_proxies
    if trusted_proxies:
        # Outermost, so that every layer sees the client a trusted proxy names. Uvicorn itself
        # is started with proxy headers off: it would believe any client on 127.0.0.1.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
    app.openapi = lambda: _openapi(app, collector)  # type: ignore[method-assign]
    return app


def collector_segments(collector: FastAPI, app: FastAPI) -> set[str]:
    """The first path segments the collector answers (`v1`, `e`, `flags`, ...), not `/health`;
    refused if `app` serves a path under one of them, which the collector would then hide."""
    segments = {
        first_segment(route.path) for route in collector.routes if isinstance(route, APIRoute)
    } - {"health"}
    hidden = sorted(
        route.path
        for route in app.routes
        if isinstance(route, APIRoute) and first_segment(route.path) in segments
    )
    if hidden:
        raise TerminalError(
            f"The collector answers every path under /{', /'.join(sorted(segments))}; move these "
            f"routes elsewhere: {', '.join(hidden)}."
        )
    return segments


def gateway_routers() -> list[APIRouter]:
    """The platform's own APIs, mounted by the gateway beside the products."""
    from dataplatform.platform.admin import admin_routers
    from dataplatform.platform.console import console_router
    from dataplatform.platform.reporting import report_router
    from dataplatform.platform.routes import (
        audit_router,
        auth_router,
        catalog_router,
        exports_router,
        query_router,
    )

    return [
        probes_router(),
        auth_router(),
        *admin_routers(),
        audit_router(),
        catalog_router(),
        query_router(),
        exports_router(),
        report_router(),
        console_router(),
    ]


def _openapi(app: FastAPI, collector: FastAPI | None) -> dict[str, Any]:
    """One document: the app's routes with the permission each requires, plus the collector's."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from POST /auth/token, or an API key (`dpk_...`).",
    }
    for route in declared_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = document["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                continue
            permissions = list(route.permissions)
            operation["x-permission"] = permissions[0] if len(permissions) == 1 else permissions
            if PUBLIC not in permissions:
                operation["security"] = [{"bearer": []}]
    if collector is not None:
        collected = collector.openapi()
        for path, operations in collected["paths"].items():
            if path == "/health":
                continue
            for operation in operations.values():
                sdk_config = "sdk config" in operation.get("tags", ())
                operation["tags"] = ["collector"]
                operation["x-permission"] = (
                    "public (what an SDK loads at start; the write key in the URL names the source)"
                    if sdk_config
                    else "write key (HTTP Basic user, `?writeKey=`, or `writeKey` / `api_key`)"
                )
            document["paths"][path] = operations
        for name, schema in collected.get("components", {}).get("schemas", {}).items():
            components.setdefault("schemas", {}).setdefault(name, schema)
    app.openapi_schema = document
    return document
