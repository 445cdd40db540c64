"""`dataplatform version` and `dataplatform config`: what is installed and the settings in force."""

from typing import Annotated

import typer

from dataplatform import __version__
from dataplatform.cli._common import cli_settings, console
from dataplatform.core.config import redacted

config_app = typer.Typer(no_args_is_help=True, help="Show the configuration in force.")


def version() -> None:
    """Print the platform's version."""
    console.print(__version__)


@config_app.command("show")
def config_show(
    product: Annotated[str | None, typer.Option(help="Also show this product's settings.")] = None,
) -> None:
    """Print the settings in force as JSON, with secrets redacted."""
    shown = {"platform": redacted(cli_settings())}
    if product:
        from dataplatform.core.product import get_product

        declared = get_product(product)
        shown = {
            "platform": redacted(declared.platform_settings()),
            product: redacted(declared.settings()),
        }
    console.print_json(data=shown)
