"""`/health` (the process is up), `/ready` (it can serve: store, audit, every product's checks),
and `/metrics` (Prometheus, for callers holding `metrics:read`)."""

import threading
import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dataplatform.core.access import METRICS_READ, public, require
from dataplatform.core.monitoring import HealthContext, HealthStatus, run_checks
from dataplatform.core.processing import RunLog
from dataplatform.core.serving import JSONOut
from dataplatform.platform.gateway._product_routes import ProductRoutes, product_routes
from dataplatform.platform.services import Services, services

# Readiness is polled every few seconds by every orchestrator and load balancer; the checks read
# the lake, so one answer serves all of them for this long.
READY_CACHE_SECONDS = 2.0
_STATUS_ORDER = (HealthStatus.OK, HealthStatus.DEGRADED, HealthStatus.FAILING)


def probes_router() -> APIRouter:
    router = APIRouter(tags=["probes"])
    # By the generation of the products' routes: a swap (new settings) makes the answer old.
    cache: dict[int, tuple[float, dict[str, Any]]] = {}
    lock = threading.Lock()

    @router.get("/health", dependencies=[public("liveness probe")], summary="The process is up")
    async def liveness() -> JSONOut:
        return JSONOut({"status": "ok"})

    @router.get(
        "/ready",
        dependencies=[public("readiness probe")],
        summary="Whether it can serve, with each product's health checks; 503 when failing",
    )
    async def readiness(
        platform: Annotated[Services, Depends(services)],
        products: Annotated[ProductRoutes, Depends(product_routes)],
    ) -> JSONOut:
        def check() -> dict[str, Any]:
            with lock:
                generation = products.generation
                cached = cache.get(generation)
                if cached and time.monotonic() - cached[0] < READY_CACHE_SECONDS:
                    return cached[1]
                report = _readiness(platform, products)
                cache.clear()
                cache[generation] = (time.monotonic(), report)
                return report

        report = await anyio.to_thread.run_sync(check)
        return JSONOut(report, status_code=503 if report["status"] == "failing" else 200)

    @router.get(
        "/metrics",
        dependencies=[require(METRICS_READ)],
        include_in_schema=False,
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _readiness(platform: Services, served: ProductRoutes) -> dict[str, Any]:
    platform_checks = {
        "metadata_store": _store_status(platform),
        "audit_writer": _audit_status(platform),
    }
    products = {}
    for product in served.products:
        # Under the settings the product's API is served with now.
        context = HealthContext.extending(
            served.context(product.name),
            lake=platform.lake,
            inputs_read=RunLog(platform.store).read_up_to,
        )
        results = run_checks(product.health_checks, context)
        failure = served.failure(product.name)
        if failure is not None:
            results.append(failure)
        products[product.name] = {
            "status": _worst(result.status for result in results),
            "checks": [
                {"name": r.name, "status": r.status.value, "detail": r.detail} for r in results
            ],
        }
    statuses = [check["status"] for check in platform_checks.values()]
    statuses += [str(product["status"]) for product in products.values()]
    return {"status": _worst(statuses), "platform": platform_checks, "products": products}


def _store_status(platform: Services) -> dict[str, str]:
    try:
        with platform.store.session() as session:
            session.execute(text("select 1"))
    except Exception as exc:  # reported as the probe's answer
        return {"status": HealthStatus.FAILING.value, "detail": f"{type(exc).__name__}: {exc}"}
    return {"status": HealthStatus.OK.value, "detail": platform.store.safe_url}


def _audit_status(platform: Services) -> dict[str, str]:
    if platform.audit.alive:
        return {"status": HealthStatus.OK.value, "detail": "appending"}
    return {"status": HealthStatus.FAILING.value, "detail": "the audit writer has stopped"}


def _worst(statuses: Any) -> str:
    worst = HealthStatus.OK
    for status in statuses:
        status = HealthStatus(status)
        if _STATUS_ORDER.index(status) > _STATUS_ORDER.index(worst):
            worst = status
    return worst.value
