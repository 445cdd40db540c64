"""The collector: Segment / RudderStack and PostHog wire formats in, canonical envelopes out."""

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import discover_products
from dataplatform.platform.collector._app import Collector, create_collector_app
from dataplatform.platform.collector._background import free_port, serve_in_background
from dataplatform.platform.collector._bus import (
    IngestWorker,
    bronze_lake,
    build_bus,
    ingest_worker,
)
from dataplatform.platform.collector._client_ip import ClientIp
from dataplatform.platform.collector._routing import EventRouter
from dataplatform.platform.collector._wire import ItemError, from_posthog, from_segment
from dataplatform.platform.sources import SourceRegistry

__all__ = [
    "ClientIp",
    "Collector",
    "EventRouter",
    "IngestWorker",
    "ItemError",
    "app_from_environment",
    "bronze_lake",
    "build_bus",
    "collector_app",
    "create_collector_app",
    "free_port",
    "from_posthog",
    "from_segment",
    "ingest_worker",
    "serve_in_background",
]


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory`: each worker process builds its collector from settings."""
    from dataplatform.core.config import load_settings
    from dataplatform.core.logging import configure_logging

    settings = load_settings(PlatformSettings)
    configure_logging(settings.log_level, settings.log_format)
    return collector_app(settings)


def collector_app(settings: PlatformSettings) -> FastAPI:
    """The collector app wired to the configured metadata store, lake and bus."""
    store = MetadataStore(settings.database_url)
    bus = build_bus(settings, store)
    collector = Collector(
        settings.collector,
        SourceRegistry(store),
        bus,
        EventRouter(discover_products()),
    )
    app = create_collector_app(collector, on_shutdown=bus.close)
    trusted_proxies = settings.gateway.trusted_proxies
    if trusted_proxies:
        # As in the gateway: only a proxy listed here is believed about the client's address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
    return app
