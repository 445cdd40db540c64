"""`dataplatform snapshot`: record the version of every table under a label, and restore it."""

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from dataplatform.cli._common import cli_settings, console, lakehouse

if TYPE_CHECKING:
    from dataplatform.core.connectors.lakehouse import Snapshots

snapshot_app = typer.Typer(
    no_args_is_help=True, help="Record and restore the version of every table."
)


def snapshots() -> "Snapshots":
    """The snapshots of the configured lake, recorded in the metadata store."""
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Snapshots

    settings = cli_settings()
    return Snapshots(lakehouse(settings), MetadataStore(settings.database_url))


@snapshot_app.command("create")
def snapshot_create(label: str) -> None:
    """Record the current version of every table under LABEL."""
    snapshot = snapshots().create(label)
    console.print(f"snapshot [bold]{label}[/bold]: {len(snapshot.versions)} tables recorded")


@snapshot_app.command("list")
def snapshot_list() -> None:
    """List the snapshots of the configured lake."""
    table = Table("label", "created at", "tables")
    for snapshot in snapshots().list():
        table.add_row(snapshot.label, snapshot.created_at.isoformat(), str(len(snapshot.versions)))
    console.print(table)


@snapshot_app.command("restore")
def snapshot_restore(label: str) -> None:
    """Bring every table recorded in LABEL back to its recorded version."""
    result = snapshots().restore(label)
    for name, restored_version in result.restored.items():
        console.print(f"restored {name} to version {restored_version}")
    console.print(f"{len(result.restored)} restored, {len(result.unchanged)} already there")
    if result.not_in_snapshot:
        console.print(
            f"left as they are (made after the snapshot): {', '.join(result.not_in_snapshot)}"
        )
