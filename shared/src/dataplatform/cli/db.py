"""`dataplatform db`: apply and revert the metadata store's migrations."""

import typer

from dataplatform.cli._common import cli_settings, console

db_app = typer.Typer(no_args_is_help=True, help="Migrate the metadata store.")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the metadata store's migrations up to REVISION."""
    from dataplatform.core.connectors.db import MetadataStore

    store = MetadataStore(cli_settings().database_url)
    store.upgrade(revision)
    console.print(f"{store.safe_url} is at revision {store.current_revision()}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert the metadata store's migrations down to REVISION (`base` for none)."""
    from dataplatform.core.connectors.db import MetadataStore

    store = MetadataStore(cli_settings().database_url)
    store.downgrade(revision)
    console.print(f"{store.safe_url} is at revision {store.current_revision()}")
