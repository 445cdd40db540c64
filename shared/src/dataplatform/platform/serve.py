"""Serving one product alone, for independent deployment: its router at its prefix with the same
auth, errors, audit and probes as the gateway (`dataplatform serve --product NAME`)."""

from fastapi import FastAPI

from dataplatform.core.product import Product
from dataplatform.platform.gateway import create_product_app
from dataplatform.platform.services import Services


def product_app(product: Product) -> FastAPI:
    """The app of `product` alone, with the platform settings its environment file gives."""
    return create_product_app(Services.start(product.platform_settings(), [product]), product)
