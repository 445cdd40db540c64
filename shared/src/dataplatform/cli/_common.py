"""What every command group shares: the consoles, the settings in force and the lake they name."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from dataplatform.core.config import PlatformSettings, load_settings
from dataplatform.core.logging import configure_logging

if TYPE_CHECKING:
    from dataplatform.core.connectors.lakehouse import Lakehouse

console = Console()
errors = Console(stderr=True)


def cli_settings() -> PlatformSettings:
    """The platform's settings in force, with logging set up for a terminal."""
    settings = load_settings(PlatformSettings)
    configure_logging(settings.log_level, "console")
    return settings


def lakehouse(settings: PlatformSettings | None = None) -> "Lakehouse":
    """The lake that `settings` (by default the settings in force) name."""
    from dataplatform.core.connectors.lakehouse import Lakehouse

    settings = settings or cli_settings()
    return Lakehouse(settings.lake_root, settings.storage_options)


MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        help="Serve /metrics (to callers holding metrics:read, for Prometheus) and /health on "
        "this port while running.",
    ),
]
MetricsHostOption = Annotated[
    str, typer.Option(help="The address --metrics-port listens on (0.0.0.0 in a container).")
]


def serving_metrics(host: str, port: int | None, service: str) -> Callable[[], None]:
    """Start a runner's metrics server when `port` is given; the function returned stops it."""
    if port is None:
        return lambda: None
    from dataplatform.platform.metrics_server import serve_metrics

    return serve_metrics(load_settings(PlatformSettings), host, port, service)
