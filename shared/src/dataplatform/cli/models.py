"""`dataplatform models`: list, draw, run and backfill a product's models."""

import signal
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from dataplatform.cli._common import (
    MetricsHostOption,
    MetricsPortOption,
    console,
    serving_metrics,
)
from dataplatform.core.logging import configure_logging

if TYPE_CHECKING:
    from dataplatform.core.processing import ModelRunner, RunResult
    from dataplatform.core.product import Product
    from dataplatform.platform.catalog import DataCatalog

models_app = typer.Typer(
    no_args_is_help=True, help="List, draw, run and backfill a product's models."
)


ProductOption = Annotated[str, typer.Option("--product", help="The product whose models to use.")]
ModelOption = Annotated[
    list[str] | None,
    typer.Option("--model", help="Only this model (`silver.sessions`); repeat for more."),
]


def _product(name: str) -> "Product":
    from dataplatform.core.product import get_product

    return get_product(name)


def _runner(product: "Product", engine: str | None = None) -> "ModelRunner":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.processing import ModelRunner, create_engine
    from dataplatform.core.product_config import ProductConfigs

    platform = product.platform_settings()
    configure_logging(platform.log_level, platform.log_format)
    store = MetadataStore(platform.database_url)
    context = ProductConfigs(store).context_of(product)
    settings = context.settings
    lake = Lakehouse(platform.lake_root, platform.storage_options)
    chosen = create_engine(
        engine or settings.engine,
        spark_master=settings.spark_master,
        spark_conf=settings.spark_conf,
        storage_options=lake.storage_options,
    )
    return ModelRunner(
        product.model_graph(context),
        lake,
        store,
        chosen,
        max_rows_per_run=platform.models.max_rows_per_run,
    )


def _catalog(runner: "ModelRunner", product: "Product") -> "DataCatalog":
    """The catalog, with the product registered: its runs' outputs are catalogued as they land."""
    from dataplatform.platform.catalog import DataCatalog

    catalog = DataCatalog(runner.runs.store, runner.lake)
    catalog.register_products([product])
    return catalog


@models_app.command("list")
def models_list(product: ProductOption) -> None:
    """Every model of the product, in run order, with its last run."""
    declared = _product(product)
    runner = _runner(declared)
    table = Table("model", "materialized", "incremental", "reads", "last run")
    for name in runner.graph.order():
        model = runner.graph.models[name]
        last = runner.runs.history(name, limit=1)
        last_run = (
            f"#{last[0].sequence} {last[0].status} {last[0].started_at:%Y-%m-%d %H:%M:%S}"
            if last
            else "never"
        )
        table.add_row(
            model.name,
            model.header.materialized,
            "yes" if model.header.is_incremental else "no",
            ", ".join(runner.graph.inputs[name]),
            last_run,
        )
    console.print(table)


@models_app.command("graph")
def models_graph(
    product: ProductOption,
    output: Annotated[
        Literal["text", "dot"], typer.Option("--format", help="text, or Graphviz dot.")
    ] = "text",
) -> None:
    """What each model reads, in run order (`--format dot | dot -Tsvg` draws it)."""
    graph = _product(product).model_graph()
    if output == "dot":
        edges = [
            f'  "{source}" -> "{model}";'
            for model in graph.order()
            for source in graph.inputs[model]
        ]
        typer.echo("digraph models {\n  rankdir=LR;\n" + "\n".join(edges) + "\n}")
        return
    for model in graph.order():
        typer.echo(f"{model} <- {', '.join(graph.inputs[model]) or '(nothing)'}")


@models_app.command("run")
def models_run(
    product: ProductOption,
    model: ModelOption = None,
    full_refresh: Annotated[
        bool, typer.Option(help="Recompute from every input's whole table, replacing the output.")
    ] = False,
    engine: Annotated[
        str | None, typer.Option(help="duckdb or spark; the product's config decides by default.")
    ] = None,
    continuous: Annotated[
        bool, typer.Option(help="Run again every schedule_seconds until stopped.")
    ] = False,
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Run the product's models until they have caught up with their inputs (each run reads
    only what its inputs gained, at most `models.max_rows_per_run` rows of each), or
    continuously."""
    from dataplatform.core.metrics import observe_model_runs

    declared = _product(product)
    runner = _runner(declared, engine)
    catalog = _catalog(runner, declared)
    stop_metrics = serving_metrics(metrics_host, metrics_port, f"{declared.name}/models")
    if not continuous:
        passes: list[list[RunResult]] = []

        def one_pass(results: "list[RunResult]") -> None:
            catalog.record_runs(declared, results)
            observe_model_runs(declared.name, results)
            passes.append(results)
            _report_progress(len(passes), results)

        runner.run_until_caught_up(model, full_refresh=full_refresh, on_pass=one_pass)
        if len(passes) > 1:
            read = sum(result.rows_in for results in passes for result in results)
            console.print(f"caught up in {len(passes)} passes, {read:,} rows read; the last pass:")
        _report(passes[-1])
        stop_metrics()
        return
    from dataplatform.core.product_config import ProductConfigs

    every = ProductConfigs(runner.runs.store).settings_of(declared).schedule_seconds
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"running {declared.name}'s models every {every} s; Ctrl-C stops after the batch")

    def cycle(results: "list[RunResult]") -> None:
        catalog.record_runs(declared, results)
        observe_model_runs(declared.name, results)
        _report(results, exit_on_failure=False)

    runner.run_continuously(every, stop, model, on_cycle=cycle)
    stop_metrics()


@models_app.command("backfill")
def models_backfill(
    product: ProductOption,
    start: Annotated[
        datetime, typer.Option("--from", help="Start (inclusive), UTC unless it says.")
    ],
    end: Annotated[datetime, typer.Option("--to", help="End (exclusive), UTC unless it says.")],
    model: ModelOption = None,
    engine: Annotated[str | None, typer.Option(help="duckdb or spark.")] = None,
) -> None:
    """Recompute a time range: timed models replace it, the others are rebuilt whole."""
    from datetime import UTC

    declared = _product(product)
    runner = _runner(declared, engine)
    catalog = _catalog(runner, declared)
    bounds = [moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (start, end)]
    results = runner.backfill(bounds[0], bounds[1], model)
    catalog.record_runs(declared, results)
    _report(results)


def _report_progress(number: int, results: "list[RunResult]") -> None:
    """One line for a pass that leaves rows for the next: what it read, and who stopped short."""
    behind = [result.model.split(".", 1)[1] for result in results if result.stopped_short]
    if behind:
        read = sum(result.rows_in for result in results)
        console.print(
            f"pass {number}: {read:,} rows read; {', '.join(behind)} stopped short of their "
            "inputs' latest versions (models.max_rows_per_run)"
        )


def _report(results: "list[RunResult]", *, exit_on_failure: bool = True) -> None:
    table = Table("model", "status", "run", "rows in", "rows out", "quarantined", "ms", "note")
    for result in results:
        style = {"failed": "red", "skipped": "yellow", "waiting": "yellow"}.get(result.status)
        table.add_row(
            result.model,
            result.status,
            str(result.sequence or ""),
            str(result.rows_in),
            str(result.rows_out),
            str(result.rows_quarantined),
            f"{result.duration_ms:.0f}",
            result.error or "",
            style=style,
        )
    console.print(table)
    if exit_on_failure and any(result.status == "failed" for result in results):
        sys.exit(1)
