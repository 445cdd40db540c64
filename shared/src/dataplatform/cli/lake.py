"""`dataplatform lake`: list tables, show their history, compact and vacuum them."""

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import console, lakehouse
from dataplatform.cli.snapshot import snapshots

lake_app = typer.Typer(no_args_is_help=True, help="Inspect and maintain lakehouse tables.")


@lake_app.command("tables")
def lake_tables() -> None:
    """List every table with its latest version."""
    lake = lakehouse()
    table = Table("table", "version")
    for name in lake.tables():
        table.add_row(str(name), str(lake.version(name)))
    console.print(table)


@lake_app.command("history")
def lake_history(name: str, limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """Show a table's commits, newest first."""
    table = Table("version", "time", "operation", "parameters")
    for commit in lakehouse().history(name, limit):
        when = datetime.fromtimestamp(commit["timestamp"] / 1000).isoformat(timespec="seconds")
        table.add_row(
            str(commit["version"]),
            when,
            commit["operation"],
            str(commit.get("operationParameters", "")),
        )
    console.print(table)


@lake_app.command("compact")
def lake_compact(name: str) -> None:
    """Rewrite a table's small files into larger ones, then checkpoint it."""
    lake = lakehouse()
    metrics = lake.compact(name)
    lake.checkpoint(name)
    console.print(
        f"{name}: {metrics['numFilesRemoved']} files compacted into {metrics['numFilesAdded']}"
    )


@lake_app.command("vacuum")
def lake_vacuum(
    name: str,
    retention_hours: Annotated[
        int | None,
        typer.Option(
            help="Keep files needed by versions this recent (at least the table's retention)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only list what would be deleted.")] = False,
) -> None:
    """Delete files no recent version and no snapshot needs."""
    recorded = snapshots()
    removed = recorded.lake.vacuum(
        name,
        retention_hours=retention_hours,
        keep_versions=recorded.protected_versions(name),
        dry_run=dry_run,
    )
    console.print(f"{name}: {len(removed)} files {'would be ' if dry_run else ''}deleted")
