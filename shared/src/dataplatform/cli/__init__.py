"""The `dataplatform` command line: each command group lives in its own module; this assembles them."""

import sys

import typer

from dataplatform.cli._common import errors
from dataplatform.cli.audit import audit_app
from dataplatform.cli.backup import backup_app
from dataplatform.cli.config import config_app, version
from dataplatform.cli.db import db_app
from dataplatform.cli.generate import generate
from dataplatform.cli.infra import infra_app
from dataplatform.cli.ingest import ingest_app
from dataplatform.cli.lake import lake_app
from dataplatform.cli.models import models_app
from dataplatform.cli.new_product import new_product
from dataplatform.cli.orchestrator import jobs_app, status, up
from dataplatform.cli.report import report
from dataplatform.cli.serve import serve
from dataplatform.cli.snapshot import snapshot_app
from dataplatform.cli.sources import sources_app
from dataplatform.cli.users import keys_app, users_app
from dataplatform.core.errors import PlatformError

app = typer.Typer(
    no_args_is_help=True, help="Data Platform: lakehouse, metadata store and products."
)
# Commands, then groups, each in the order `--help` lists them.
for command in (report, up, status, version, generate, serve, new_product):
    app.command()(command)
for group, name in (
    (config_app, "config"),
    (snapshot_app, "snapshot"),
    (backup_app, "backup"),
    (lake_app, "lake"),
    (db_app, "db"),
    (sources_app, "sources"),
    (ingest_app, "ingest"),
    (models_app, "models"),
    (users_app, "users"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (jobs_app, "jobs"),
    (infra_app, "infra"),
):
    app.add_typer(group, name=name)


def main() -> None:
    """Entry point: run the CLI, turning platform errors into one red line and exit code 1."""
    try:
        app()
    except PlatformError as exc:
        errors.print(
            f"error [{exc.code}] {exc.message}", style="red", markup=False, highlight=False
        )
        sys.exit(1)
