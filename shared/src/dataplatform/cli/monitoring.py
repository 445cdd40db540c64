"""`dataplatform monitoring`: Prometheus rules, Alertmanager routes and Grafana dashboards,
generated from the products' declarations."""

from pathlib import Path
from typing import Annotated

import typer

from dataplatform.cli._common import console, errors

monitoring_app = typer.Typer(
    no_args_is_help=True,
    help="Generate the Prometheus, Alertmanager and Grafana files from the products' SLOs.",
)


@monitoring_app.command("generate")
def monitoring_generate(
    out: Annotated[
        Path, typer.Option(help="Where the files go (the repository keeps them here).")
    ] = Path("infrastructure/monitoring"),
    check: Annotated[
        bool,
        typer.Option(help="Write nothing; exit 1 naming each file that is missing or differs."),
    ] = False,
) -> None:
    """Write the scrape config, each product's SLO rules and their promtool tests, the
    Alertmanager routes and the Grafana dashboards (or, with --check, compare them)."""
    from dataplatform.core.product import discover_products
    from dataplatform.platform.observability import generate, stale_files

    files = generate(discover_products())
    stale = stale_files(out, files)
    if check:
        if stale:
            errors.print(
                f"{len(stale)} generated file(s) out of date under {out}: {', '.join(stale)}; "
                "run `dataplatform monitoring generate`.",
                markup=False,
            )
            raise typer.Exit(1)
        console.print(f"{len(files)} files under {out} match the products' declarations")
        return
    for path in stale:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path])
    console.print(f"{len(stale)} of {len(files)} files written under {out}")
