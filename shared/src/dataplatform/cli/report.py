"""`dataplatform report`: per product volumes, freshness, quality checks, storage and traffic."""

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from dataplatform.cli._common import cli_settings


def report(
    output: Annotated[
        Literal["json", "markdown"], typer.Option("--format", help="json, or markdown.")
    ] = "markdown",
    file: Annotated[
        Path | None, typer.Option("--output", help="Write it to this file instead of stdout.")
    ] = None,
) -> None:
    """Report every installed product's volumes, freshness, checks, storage and API traffic."""
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.product import discover_products
    from dataplatform.platform.reporting import build_report, render_markdown

    settings = cli_settings()
    store = MetadataStore(settings.database_url)
    lake = Lakehouse(settings.lake_root, settings.storage_options)
    built = build_report(store, lake, discover_products())
    text = render_markdown(built) if output == "markdown" else json.dumps(built, indent=2) + "\n"
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text)
        typer.echo(f"report written to {file}", err=True)
