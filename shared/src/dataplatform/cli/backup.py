"""`dataplatform backup`: copy the lake and the metadata store to another location, list and
verify what is there, and restore a backup into an empty lake and store (docs/disaster-recovery.md)."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import cli_settings, console, errors

if TYPE_CHECKING:
    from dataplatform.platform.backups import Backups

backup_app = typer.Typer(
    no_args_is_help=True,
    help="Back up the lake and the metadata store; list, verify and restore backups.",
)

LocationOption = Annotated[
    str | None,
    typer.Option(
        help="The backups' folder or s3:// URI (reached with the lake's storage options); "
        "the setting backup_location (DATAPLATFORM_BACKUP_LOCATION) by default.",
    ),
]


def _backups(location: str | None) -> "Backups":
    from dataplatform.platform.backups import Backups

    settings = cli_settings()
    location = location or settings.backup_location
    if location is None:
        raise typer.BadParameter(
            "Name where backups go: --location, or the setting DATAPLATFORM_BACKUP_LOCATION.",
            param_hint="--location",
        )
    return Backups(location, settings.storage_options)


@backup_app.command("create")
def backup_create(location: LocationOption = None) -> None:
    """Copy the store's rows and every table's files at its current version (only the files
    the location does not hold yet) and the erased ids' hashes."""
    from dataplatform.cli._common import lakehouse
    from dataplatform.core.connectors.db import MetadataStore

    settings = cli_settings()
    report = _backups(location).create(lakehouse(settings), MetadataStore(settings.database_url))
    console.print(
        f"backup {report.backup_id}: {report.tables} tables, {report.files_copied} files copied "
        f"({report.bytes_copied:,} bytes), {report.files_kept} already there"
    )


@backup_app.command("list")
def backup_list(location: LocationOption = None) -> None:
    """The complete backups at the location, oldest first."""
    table = Table("id", "created at", "tables", "rows")
    for backup in _backups(location).listing():
        table.add_row(
            backup["id"], backup["created_at"], str(backup["tables"]), f"{backup['rows']:,}"
        )
    console.print(table)


@backup_app.command("verify")
def backup_verify(
    backup_id: Annotated[str, typer.Argument(help="The backup (`backup list` shows them).")],
    location: LocationOption = None,
) -> None:
    """Check that every file is there and every table reads back with its row count."""
    problems = _backups(location).verify(backup_id)
    for problem in problems:
        errors.print(problem, markup=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"backup {backup_id} is whole: every table reads back at its version")


@backup_app.command("restore")
def backup_restore(
    backup_id: Annotated[str, typer.Argument(help="The backup (`backup list` shows them).")],
    location: LocationOption = None,
) -> None:
    """Restore into the lake and store the settings name, both empty; then delete again the
    rows of everyone erased since (or before) the backup."""
    from dataplatform.cli._common import lakehouse
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.governance import protect
    from dataplatform.core.product import declared_person_columns

    settings = cli_settings()
    backups = _backups(location)
    store = MetadataStore(settings.database_url)
    if store.current_revision() is None:
        store.upgrade(backups.revision_of(backup_id) or "head")
    lake = lakehouse(settings)
    person_columns = declared_person_columns()
    protect(lake, store, person_columns)
    restored = backups.restore(backup_id, lake, store, person_columns)
    console.print(
        f"backup {backup_id} restored: {restored['tables']} tables; "
        f"{restored['rows_erased_again']} rows of erased people deleted again"
    )
