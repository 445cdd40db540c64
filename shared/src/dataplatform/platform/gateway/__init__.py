"""The API gateway: every product at its prefix, the collector, `/auth`, `/catalog`, `/admin`,
probes and metrics, in one app with one OpenAPI document; and the app of a product served alone."""

from fastapi import FastAPI

from dataplatform.core.config import PlatformSettings, load_settings
from dataplatform.core.logging import configure_logging
from dataplatform.core.product import Product, discover_products
from dataplatform.platform.gateway._app import create_app, gateway_routers
from dataplatform.platform.gateway._probes import probes_router
from dataplatform.platform.gateway._problems import install_problem_handlers
from dataplatform.platform.routes import auth_router
from dataplatform.platform.services import Services

__all__ = [
    "app_from_environment",
    "create_app",
    "create_gateway",
    "create_product_app",
    "gateway_routers",
    "install_problem_handlers",
]


def create_gateway(platform: Services) -> FastAPI:
    """The gateway over `platform`: every product, the collector and the platform's own APIs."""
    from dataplatform.platform.collector import (
        Collector,
        EventRouter,
        build_bus,
        create_collector_app,
    )

    bus = build_bus(platform.settings, platform.store)
    collector = Collector(
        platform.settings.collector, platform.sources, bus, EventRouter(platform.products)
    )
    return create_app(
        platform,
        title="Data Platform API",
        service="gateway",
        routers=gateway_routers(),
        products=platform.products,
        collector=create_collector_app(collector),
        on_shutdown=[bus.close],
    )


def create_product_app(platform: Services, product: Product) -> FastAPI:
    """One product alone, for independent deployment, with the same auth as the gateway."""
    return create_app(
        platform,
        title=f"{product.name} API",
        service=product.name,
        routers=[probes_router(), auth_router()],
        products=[product],
    )


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory`: each worker process builds the gateway from settings."""
    settings = load_settings(PlatformSettings)
    configure_logging(settings.log_level, settings.log_format)
    return create_gateway(Services.start(settings, discover_products()))
