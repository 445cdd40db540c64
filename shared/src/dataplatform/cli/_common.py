"""What every command group shares: the consoles, the settings in force and the lake they name."""

from typing import TYPE_CHECKING

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
