"""`dataplatform serve`: the API gateway, one product alone, or the collector alone."""

from typing import Annotated

import typer

from dataplatform.cli._common import cli_settings
from dataplatform.core.logging import configure_logging


def serve(
    product: Annotated[str | None, typer.Option(help="Serve this product alone.")] = None,
    collector: Annotated[bool, typer.Option(help="Serve the event collector alone.")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes; one per core uses every core.")
    ] = 1,
) -> None:
    """Serve the API gateway (every product, the collector, auth, catalog, admin), or one product
    alone, or the collector alone; each with health probes and metrics."""
    import uvicorn

    if product is not None and collector:
        raise typer.BadParameter("pass at most one of --product NAME or --collector")
    settings = cli_settings()  # refuse a bad setting here, before any worker starts
    if product is not None:
        from dataplatform.core.connectors.db import MetadataStore
        from dataplatform.core.product import get_product
        from dataplatform.platform.serve import product_app

        declared = get_product(product)
        settings = declared.platform_settings()
        MetadataStore(settings.database_url).upgrade()
        configure_logging(settings.log_level, settings.log_format)
        uvicorn.run(
            product_app(declared),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # only gateway.trusted_proxies are believed, as below
        )
        return
    if not collector:
        from dataplatform.core.connectors.db import MetadataStore

        MetadataStore(settings.database_url).upgrade()
    factory = (
        "dataplatform.platform.collector:app_from_environment"
        if collector
        else "dataplatform.platform.gateway:app_from_environment"
    )
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # Uvicorn would believe X-Forwarded-For from any client on 127.0.0.1 (its default
        # forwarded_allow_ips), so a local client could pose as any address; the app believes
        # only the proxies in `gateway.trusted_proxies`.
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
