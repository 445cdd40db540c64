"""`dataplatform infra`: the deployment and monitoring files, generated from the products'
declarations (their SLOs, owner, prefix, config and environment files)."""

from pathlib import Path
from typing import Annotated

import typer

from dataplatform.cli._common import console, errors

infra_app = typer.Typer(
    no_args_is_help=True,
    help="Generate the Kubernetes, Prometheus, Alertmanager and Grafana files from the products.",
)


@infra_app.command("generate")
def infra_generate(
    root: Annotated[Path, typer.Option(help="The repository's root, where the files go.")] = Path(),
    check: Annotated[
        bool,
        typer.Option(help="Write nothing; exit 1 naming each file that is missing or differs."),
    ] = False,
) -> None:
    """Write infrastructure/k8s (kustomize base and overlays), infrastructure/monitoring
    (scrape config, SLO rules and their promtool tests, Alertmanager routes, Grafana
    dashboards), .github/workflows and compose.yaml; with --check, compare instead."""
    from dataplatform.core.product import discover_products
    from dataplatform.platform import delivery, kubernetes, observability
    from dataplatform.platform.generated_files import stale_files

    products = discover_products()
    files = {
        **{
            f"infrastructure/monitoring/{path}": text
            for path, text in observability.generate(products).items()
        },
        **{
            f"infrastructure/k8s/{path}": text
            for path, text in kubernetes.generate(products).items()
        },
        **delivery.generate(products),
    }
    stale = stale_files(root, files)
    if check:
        if stale:
            errors.print(
                f"{len(stale)} generated file(s) out of date under {root.resolve()}: {', '.join(stale)}; "
                "run `dataplatform infra generate`.",
                markup=False,
            )
            raise typer.Exit(1)
        console.print(f"{len(files)} files under {root.resolve()} match the products' declarations")
        return
    for path in stale:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path])
    console.print(f"{len(stale)} of {len(files)} files written under {root.resolve()}")
