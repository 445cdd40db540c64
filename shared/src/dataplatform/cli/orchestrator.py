"""`dataplatform up` (run the whole platform), `dataplatform status` and `dataplatform jobs run`."""

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import (
    MetricsHostOption,
    MetricsPortOption,
    cli_settings,
    console,
    errors,
    serving_metrics,
)
from dataplatform.core.config import PlatformSettings, load_settings
from dataplatform.core.logging import configure_logging

if TYPE_CHECKING:
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.platform.orchestrator import PlatformHealth

jobs_app = typer.Typer(
    no_args_is_help=True,
    help="Periodic jobs: the platform's (audit log, lineage, catalog) or a product's.",
)

StateDirOption = Annotated[
    Path,
    typer.Option(
        envvar="DATAPLATFORM_STATE_DIR",
        help="Where the orchestrator keeps its state file; `status` reads it there.",
    ),
]
_STYLES = {"ok": "green", "running": "green", "degraded": "yellow", "restarting": "yellow"}


def up(
    host: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the gateway.")] = 8000,
    state_dir: StateDirOption = Path(".data"),
    log_dir: Annotated[
        Path | None,
        typer.Option(help="Write each process's output to LOG_DIR/<process>.log, not here."),
    ] = None,
) -> None:
    """Run the platform: the gateway, the platform's jobs and every product's processes,
    restarted when they crash; SIGTERM or Ctrl-C stops them in order, the gateway draining first."""
    from dataplatform.platform.orchestrator import PlatformOrchestrator

    settings = cli_settings()
    orchestrator = PlatformOrchestrator.for_platform(settings, state_dir, host, port, log_dir)
    problems = orchestrator.run_until_signalled()
    for problem in problems:
        errors.print(problem, style="red", markup=False, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("platform stopped cleanly")


def status(
    state_dir: StateDirOption = Path(".data"),
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """Every product's processes and health; exit code 1 when the platform is not running."""
    from dataplatform.platform.orchestrator import read_health

    health = read_health(state_dir)
    if as_json:
        typer.echo(health.model_dump_json(indent=2))
    else:
        _print(health)
    if not health.running:
        raise typer.Exit(1)


def _print(health: "PlatformHealth") -> None:
    verdict = "running" if health.running else "not running"
    console.print(f"platform {verdict}: {health.detail}", highlight=False)
    if health.gateway_url:
        console.print(f"gateway {health.gateway_url}: {health.gateway}", highlight=False)
    for product in health.products:
        table = Table("", "state", "detail", title=f"{product.product}: {product.status}")
        for process in product.processes:
            detail = [f"{process.restarts} restarts"]
            if process.pid is not None and process.started_at is not None:
                detail[:0] = [f"pid {process.pid}", f"up since {process.started_at:%H:%M:%S}"]
            if process.last_exit is not None:
                detail.append(f"last exit code {process.last_exit}")
            table.add_row(
                f"process {process.name}",
                process.state,
                ", ".join(detail),
                style=_STYLES.get(process.state, "red"),
            )
        for check in product.checks:
            table.add_row(
                f"check {check.get('name')}",
                str(check.get("status")),
                str(check.get("detail", "")),
                style=_STYLES.get(str(check.get("status")), "red"),
            )
        console.print(table)


@jobs_app.command("run")
def jobs_run(
    every: Annotated[
        float,
        typer.Option(
            min=1, max=60, help="Seconds between rounds (the audit head reaches the lake as often)."
        ),
    ] = 10,
    product: Annotated[
        str | None, typer.Option(help="Run this product's jobs instead of the platform's.")
    ] = None,
    once: Annotated[bool, typer.Option(help="Run each job once now, then exit.")] = False,
    scrape_gateway: Annotated[
        str | None,
        typer.Option(help="The gateway's /metrics URL, sampled each round into the lake."),
    ] = None,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Publish the audit log, lineage and bus lag to the lake and refresh the catalog's
    statistics every EVERY seconds until stopped (a round in progress finishes, then the audit
    log is published once more); or, with
    --product, run that product's jobs, each on the schedule its config gives."""
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.governance import protect
    from dataplatform.core.product import declared_person_columns

    settings = load_settings(PlatformSettings)
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    store = MetadataStore(settings.database_url)
    lake = Lakehouse(settings.lake_root, settings.storage_options)
    protect(lake, store, declared_person_columns())  # no job writes an erased person back
    service = f"{product}/jobs" if product else "jobs"
    stop_metrics = serving_metrics(metrics_host, None if once else metrics_port, service)
    try:
        _jobs(settings, store, lake, stop, product, once, scrape_gateway, every)
    finally:
        stop_metrics()


def _jobs(
    settings: PlatformSettings,
    store: "MetadataStore",
    lake: "Lakehouse",
    stop: threading.Event,
    product: str | None,
    once: bool,
    scrape_gateway: str | None,
    every: float,
) -> None:
    if product is not None:
        _product_jobs(product, store, lake, stop, once)
        return
    from dataplatform.platform.orchestrator import PlatformJobs

    scraper = None
    if scrape_gateway is not None:
        from dataplatform.platform.telemetry import gateway_scraper

        scraper = gateway_scraper(settings, store, scrape_gateway)
    jobs = PlatformJobs(settings, store, lake, scraper)
    if once:
        failed = {name: error for name, error in jobs.run_once().items() if error}
        for name, error in failed.items():
            console.print(f"{name} failed: {error}", style="red", markup=False)
        raise typer.Exit(1 if failed else 0)
    console.print(f"platform jobs every {every:g} s: {', '.join(jobs.jobs)}; Ctrl-C stops")
    jobs.run_until(stop, every)


def _product_jobs(
    name: str,
    store: "MetadataStore",
    lake: "Lakehouse",
    stop: threading.Event,
    once: bool,
) -> None:
    from dataplatform.core.jobs import JobContext, JobScheduler
    from dataplatform.core.product import get_product
    from dataplatform.core.product_config import ProductConfigs

    declared = get_product(name)
    if not declared.jobs:
        raise typer.BadParameter(f"`{name}` declares no jobs.", param_hint="--product")
    context = JobContext.extending(ProductConfigs(store).context_of(declared), lake=lake)
    settings = context.settings
    scheduler = JobScheduler(declared.jobs, context)
    if once:
        outcomes = scheduler.run_once()
        for outcome in outcomes:
            if outcome.error:
                console.print(f"{outcome.job} failed: {outcome.error}", style="red", markup=False)
            else:
                console.print(
                    f"{outcome.job} done in {outcome.seconds:.2f} s: {dict(outcome.summary or {})}",
                    markup=False,
                )
        raise typer.Exit(1 if any(outcome.error for outcome in outcomes) else 0)
    schedule = ", ".join(f"{job.name} every {job.interval(settings):g} s" for job in declared.jobs)
    console.print(f"{name} jobs: {schedule}; Ctrl-C stops")
    scheduler.run_until(stop)
