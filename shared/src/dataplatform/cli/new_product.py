"""`dataplatform new-product`: a product folder shaped like every other, its tests green."""

import time
from pathlib import Path
from typing import Annotated

import typer


def new_product(
    name: Annotated[str, typer.Argument(help="kebab-case, e.g. `checkout-analytics`.")],
    team: Annotated[str, typer.Option(help="The owning team (labels its alerts and pods).")],
    prefix: Annotated[str | None, typer.Option(help="Its API prefix; /NAME by default.")] = None,
    stream: Annotated[
        list[str] | None,
        typer.Option(
            help="A stream it accepts, NAME:KIND (KIND: ios, android, web or server); repeat "
            "for more. events:server by default.",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="List what it would write, write nothing.")] = False,
    root: Annotated[Path, typer.Option(help="The repository's root.")] = Path(),
) -> None:
    """Create products/NAME: its declaration, streams, incremental models, route, health
    checks, SLOs, console page and tests; register it in the import contracts, install it and
    generate its Dockerfile, Kubernetes objects, alerts, dashboard and workflow."""
    from dataplatform.platform.scaffold import DEFAULT_STREAM, install, plan, tidy, write

    started = time.monotonic()
    made = plan(root, name, team, prefix, stream or [DEFAULT_STREAM])
    for path in sorted(made.files):
        typer.echo(f"{'would write' if dry_run else 'writes'} {path}")
    typer.echo(
        f"{'would register' if dry_run else 'registers'} {made.package} in pyproject.toml's import contracts"
    )
    if dry_run:
        return
    write(root, made)
    tidy(root, name)
    install(root, name)
    typer.echo(
        f"{name} made, installed and generated in {time.monotonic() - started:.1f} s; "
        f"its tests: make -C products/{name} test"
    )
