"""Each product's routes and health context in an app, kept on the product's settings in force.

A configuration version saved through the admin API or the CLI lands in the metadata store, which
every gateway process shares (a gateway may run several workers). Each process looks at the
stored versions (one small query) on the first request after `gateway.config_check_seconds`, and
rebuilds every product whose version moved: a new context, a new router from it, swapped into the
app's route list in one assignment. A request already routed finishes on the old routes; the next
one is routed on the new. If the new router cannot be built, the old one keeps serving, the error
is logged and `/ready` shows it under the product.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from dataplatform.core.access import declared_routes, routes_without_permission
from dataplatform.core.errors import TerminalError
from dataplatform.core.monitoring import HealthResult, HealthStatus
from dataplatform.core.product import Product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.core.product_context import ProductContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MountedProduct:
    """A product as an app serves it: its context, the stored version it reflects, its routes."""

    context: ProductContext[Any]
    version: int | None
    routes: tuple[BaseRoute, ...]


@dataclass(frozen=True)
class FailedVersion:
    """A stored version whose router could not be built: the previous one still serves."""

    version: int | None
    error: str


class ProductRoutes:
    """Mounts each product's router in `app` and swaps it when its configuration version moves."""

    def __init__(
        self,
        app: FastAPI,
        products: Sequence[Product],
        configs: ProductConfigs,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.products = list(products)
        self.configs = configs
        self.check_seconds = check_seconds
        self.clock = clock
        # Moves on every swap and every failed rebuild: what /ready computed before is old.
        self.generation = 0
        self._mounted: dict[str, MountedProduct] = {}
        self._failed: dict[str, FailedVersion] = {}
        self._swap_lock = threading.Lock()
        self._checked_at = -float("inf")
        self._checking = False

    def mount(self) -> None:
        """Build every product's routes under its settings in force and add them to the app;
        a product whose router cannot be built stops the start."""
        versions = self.configs.latest_versions()
        for product in self.products:
            mounted = self._build(product, versions.get(product.name))
            self._mounted[product.name] = mounted
            self.app.router.routes.extend(mounted.routes)

    def context(self, product: str) -> ProductContext[Any]:
        """The context `product` is served under now."""
        return self._mounted[product].context

    def failure(self, product: str) -> HealthResult | None:
        """Why `product`'s latest stored version is not in force, as a health result; None when
        it is."""
        failed = self._failed.get(product)
        if failed is None:
            return None
        serving = self._mounted[product].version
        return HealthResult(
            "configuration",
            HealthStatus.DEGRADED,
            f"configuration version {failed.version} could not be applied ({failed.error}); "
            f"the API still serves version {serving or 'none (the files)'}: save a corrected "
            "version",
        )

    async def refresh_when_due(self) -> None:
        """Look for moved versions if the last look is `check_seconds` old; the request that
        looks waits for it, requests arriving meanwhile go on with the routes they find."""
        if self._checking or self.clock() - self._checked_at < self.check_seconds:
            return
        self._checking = True
        try:
            await anyio.to_thread.run_sync(self.refresh)
        finally:
            self._checked_at = self.clock()
            self._checking = False

    def refresh(self) -> None:
        """Rebuild and swap every product whose stored version moved. Never raises: the routes
        in place keep serving whatever goes wrong."""
        try:
            versions = self.configs.latest_versions()
        except Exception:  # the store is down: what serves now keeps serving
            logger.exception("could not read the products' configuration versions")
            return
        for product in self.products:
            version = versions.get(product.name)
            failed = self._failed.get(product.name)
            if version == self._mounted[product.name].version or (
                failed is not None and failed.version == version
            ):
                continue
            self._rebuild(product, version)

    def _rebuild(self, product: Product, version: int | None) -> None:
        try:
            rebuilt = self._build(product, version)
        except Exception as exc:
            logger.exception(
                "configuration version %s of %s could not be applied; its router of version %s "
                "keeps serving",
                version,
                product.name,
                self._mounted[product.name].version,
            )
            self._failed[product.name] = FailedVersion(version, f"{type(exc).__name__}: {exc}")
            self.generation += 1
            return
        self._swap(product.name, rebuilt)
        self._failed.pop(product.name, None)
        logger.info("%s now serves configuration version %s", product.name, version)

    def _build(self, product: Product, version: int | None) -> MountedProduct:
        context = self.configs.context_of(product)
        holder = APIRouter()
        holder.include_router(product.router(context), prefix=product.prefix)
        missing = routes_without_permission(holder.routes)
        if missing:
            raise TerminalError(
                "Every route must declare its permission with `require(...)` or `public(...)`; "
                f"these declare none: {', '.join(missing)}."
            )
        return MountedProduct(context, version, tuple(holder.routes))

    def _swap(self, product: str, rebuilt: MountedProduct) -> None:
        """Put `rebuilt`'s routes where the product's are, in a new list assigned at once: the
        router reads `routes` per request, so a request is routed on the old list or the new."""
        with self._swap_lock:
            old = {id(route) for route in self._mounted[product].routes}
            current = self.app.router.routes
            at = next(index for index, route in enumerate(current) if id(route) in old)
            kept = [route for route in current if id(route) not in old]
            routes = [*kept[:at], *rebuilt.routes, *kept[at:]]
            self.app.state.route_templates = route_templates(routes)
            self.app.router.routes = routes
            self.app.openapi_schema = None  # rebuilt from the new routes when next asked
            self._mounted[product] = rebuilt
            self.generation += 1


class RefreshProductRoutes:
    """Before a request is routed, lets `ProductRoutes` look for moved configuration versions."""

    def __init__(self, app: ASGIApp, products: ProductRoutes) -> None:
        self.app = app
        self.products = products

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.products.refresh_when_due()
        await self.app(scope, receive, send)


def route_templates(routes: Sequence[BaseRoute]) -> dict[int, str]:
    """Each API route's full template (with its prefix), by the route's id: see `route_template`."""
    return {id(declared.route): declared.path for declared in declared_routes(routes)}


def product_routes(request: Request) -> ProductRoutes:
    """The running app's `ProductRoutes` (a FastAPI dependency)."""
    routes: ProductRoutes = request.app.state.product_routes
    return routes
