"""`dataplatform sources`: the apps, sites and servers allowed to send events, and their keys."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import cli_settings, console

if TYPE_CHECKING:
    from dataplatform.platform.sources import SourceRegistry

sources_app = typer.Typer(
    no_args_is_help=True, help="Apps, sites and servers allowed to send events."
)


def _sources() -> "SourceRegistry":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.platform.sources import SourceRegistry

    return SourceRegistry(MetadataStore(cli_settings().database_url))


@sources_app.command("create")
def sources_create(
    name: str,
    kind: Annotated[str, typer.Option(help="ios, android, web or server.")],
    product: Annotated[str, typer.Option(help="The product its events go to.")],
) -> None:
    """Create a source and print its write key (shown this once only)."""
    source, write_key = _sources().create(name, kind, product)
    console.print(f"source [bold]{source.name}[/bold] ({source.kind} -> {source.product})")
    console.print(f"write key: {write_key}", highlight=False)
    console.print("Keep it now: only its hash is stored.")


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their kind, product, key prefix and state."""
    table = Table("name", "kind", "product", "key", "created", "state")
    for source in _sources().list():
        state = "active" if source.active else f"revoked {source.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(
            source.name,
            source.kind,
            source.product,
            f"{source.key_prefix}...",
            f"{source.created_at:%Y-%m-%d %H:%M}",
            state,
        )
    console.print(table)


@sources_app.command("revoke")
def sources_revoke(name: str) -> None:
    """Revoke a source's write key; the collector refuses it within seconds."""
    source = _sources().revoke(name)
    console.print(f"source {source.name} revoked")
