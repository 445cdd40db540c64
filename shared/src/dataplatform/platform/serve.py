"""Serving one product alone: its router at its prefix, health probes and Prometheus metrics."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dataplatform import __version__
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.monitoring import HealthContext, HealthStatus, run_checks
from dataplatform.core.product import Product


def product_app(product: Product) -> FastAPI:
    """A FastAPI app for `product` alone, for independent deployment."""
    platform = product.platform_settings()
    lake = Lakehouse(platform.lake_root, platform.storage_options)
    app = FastAPI(title=f"{product.name} API", version=__version__)
    app.include_router(product.router(), prefix=product.prefix)

    @app.get("/health", tags=["probes"])
    def liveness() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "product": product.name}

    @app.get("/ready", tags=["probes"])
    def readiness() -> JSONResponse:
        """Every health check of the product; 503 when one is failing."""
        results = run_checks(product.health_checks, HealthContext(lake, product.table_names))
        failing = any(result.status is HealthStatus.FAILING for result in results)
        body = {
            "status": "failing" if failing else "ok",
            "checks": [
                {"name": r.name, "status": r.status.value, "detail": r.detail} for r in results
            ],
        }
        return JSONResponse(body, status_code=503 if failing else 200)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
