"""`dataplatform audit`: verify the hash chain, search it, publish it (and the lineage) to the lake.

These run with the metadata store's own credentials, which read the table without any CLI, so
they are not recorded in the log themselves (the API's reads are).
"""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import cli_settings, console, errors

if TYPE_CHECKING:
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse

audit_app = typer.Typer(
    no_args_is_help=True, help="The hash-chained audit log: verify, search, publish."
)


def _platform() -> "tuple[MetadataStore, Lakehouse]":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse

    settings = cli_settings()
    return (
        MetadataStore(settings.database_url),
        Lakehouse(settings.lake_root, settings.storage_options),
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every row of the chain and the published copy; exit 1 printing every finding."""
    from dataplatform.platform.audit import verify

    store, lake = _platform()
    report = verify(store, lake)
    if report.ok:
        console.print(f"OK {report.message}", markup=False, highlight=False)
        return
    for finding in report.findings:
        where = f"at row {finding.seq} " if finding.seq is not None else ""
        errors.print(
            f"BROKEN {where}({finding.kind}): {finding.message}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line per finding, for grep and for scripts
        )
    errors.print(
        f"{len(report.findings)} finding(s); {report.rows_checked} rows checked, head at row "
        f"{report.head_seq}. Rows already published are in platform.gold.audit_log as they "
        "were then.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


@audit_app.command("search")
def audit_search(
    actor: Annotated[str | None, typer.Option(help="Who did it (user, key or cli:<user>).")] = None,
    action: Annotated[
        str | None, typer.Option(help="`admin` matches `admin` and every `admin.*` action.")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Reads of this table.")] = None,
    outcome: Annotated[str | None, typer.Option(help="success or failure.")] = None,
    since: Annotated[datetime | None, typer.Option(help="From this time (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (UTC).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 50,
    before: Annotated[int | None, typer.Option(help="Entries before this seq.")] = None,
) -> None:
    """Entries matching the filters, newest first."""
    from dataplatform.platform.audit import AuditLog

    store, _ = _platform()
    page = AuditLog(store).search(
        actor=actor,
        action=action,
        table=table,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        before=before,
    )
    shown = Table(
        "seq", "time (UTC)", "actor", "action", "outcome", "route", "table", "rows", "pii"
    )
    for row in page.rows:
        entry = row.entry
        shown.add_row(
            str(row.seq),
            f"{entry.recorded_at:%Y-%m-%d %H:%M:%S}",
            entry.actor,
            entry.action,
            entry.outcome,
            f"{entry.method} {entry.route}" if entry.route else "",
            entry.table_name or "",
            "" if entry.row_count is None else str(entry.row_count),
            "yes" if entry.pii else "",
        )
    console.print(shown)
    if page.next_before is not None:
        console.print(f"more: --before {page.next_before}")


@audit_app.command("publish")
def audit_publish(
    afresh: Annotated[
        bool,
        typer.Option(
            help="The published audit copy is lost for good: publish the chain to a new copy."
        ),
    ] = False,
) -> None:
    """Append the audit rows and lineage edges not yet published to their lake tables, once."""
    from dataplatform.platform.audit import (
        AUDIT_TABLE,
        LINEAGE_TABLE,
        publish_audit_log,
        publish_lineage,
    )

    store, lake = _platform()
    audit_rows = publish_audit_log(store, lake, afresh=afresh)
    edges = publish_lineage(store, lake)
    console.print(f"published {audit_rows} audit rows to {AUDIT_TABLE}")
    console.print(f"published {edges} lineage edges to {LINEAGE_TABLE}")
