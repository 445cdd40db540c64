"""A runner's own `/metrics` (model runs and freshness, for Prometheus to scrape), behind the
gateway's credential check: only a caller holding `metrics:read` reads it. `/health` answers
anyone, for a container's liveness probe.

A runner is not the gateway: it serves these two routes on a port of its own
(`--metrics-port`), in a thread beside its work, and audits nothing but who was refused.
"""

import threading
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dataplatform.core.access import METRICS_READ, public, require
from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import discover_products
from dataplatform.core.serving import JSONOut
from dataplatform.platform.audit import AuditLog, AuditWriter
from dataplatform.platform.auth import Auth, PlatformAccess
from dataplatform.platform.gateway import install_problem_handlers
from dataplatform.platform.http_context import RequestIdsAndErrors


def metrics_app(access: PlatformAccess) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.access = access
    install_problem_handlers(app)

    @app.get("/health", dependencies=[public("liveness probe")])
    async def health() -> JSONOut:
        return JSONOut({"status": "ok"})

    @app.get("/metrics", dependencies=[require(METRICS_READ)])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def serve_metrics(
    settings: PlatformSettings, host: str, port: int, service: str
) -> Callable[[], None]:
    """Serve `/metrics` and `/health` on `host:port` in a thread; the function returned stops it."""
    store = MetadataStore(settings.database_url)
    auth = Auth.create(settings, store, sorted(product.name for product in discover_products()))
    audit = AuditWriter(
        AuditLog(store), settings.audit.flush_interval_ms, settings.audit.batch_size
    )
    access = auth.access(settings, audit, lambda _table: frozenset())
    app = RequestIdsAndErrors(metrics_app(access), service)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name=f"{service}-metrics", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        audit.close()
        store.dispose()

    return stop
