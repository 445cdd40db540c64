"""`dataplatform ingest`: workers that move a product's streams from the bus into bronze."""

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from dataplatform.cli._common import (
    MetricsHostOption,
    MetricsPortOption,
    console,
    errors,
    serving_metrics,
)
from dataplatform.core.logging import configure_logging

if TYPE_CHECKING:
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.platform.collector import IngestWorker

logger = logging.getLogger(__name__)

ingest_app = typer.Typer(no_args_is_help=True, help="Move events from the bus into bronze.")


@ingest_app.command("run")
def ingest_run(
    product: Annotated[str, typer.Option(help="Ingest this product's streams.")],
    consumer: Annotated[
        str, typer.Option(help="This worker's stable name in the consumer group.")
    ] = "worker-1",
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Write the product's streams (and their quarantine) from the bus into Delta until stopped;
    an erased person's new events are dropped (the metadata store holds the suppression list).
    A worker that fails stops them all and the command exits 1, to be started again."""
    import signal

    from dataplatform.core.product import get_product

    declared = get_product(product)
    settings = declared.platform_settings()
    configure_logging(settings.log_level, settings.log_format)
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import quarantine_of
    from dataplatform.platform.collector import bronze_lake, ingest_worker

    lake = bronze_lake(settings, _migrated(MetadataStore(settings.database_url)))
    tables = [
        name
        for stream in declared.streams
        for name in (
            declared.table_name(stream.table),
            quarantine_of(declared.namespace, stream.name),
        )
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    workers = [ingest_worker(settings, lake, table, consumer) for table in tables]
    failed: dict[str, Exception] = {}
    threads = [
        threading.Thread(target=_run_until_stopped, args=(worker, table, stop, failed), name=table)
        for worker, table in zip(workers, tables, strict=True)
    ]
    for thread in threads:
        thread.start()
    stop_metrics = serving_metrics(metrics_host, metrics_port, f"{declared.name}/ingestion")
    console.print(f"ingesting {', '.join(tables)} from {settings.bus}; Ctrl-C stops")
    for thread in threads:
        thread.join()
    stop_metrics()
    if failed:
        for table, error in failed.items():
            errors.print(
                f"error: the ingestion worker of {table} failed: {error}",
                style="red",
                markup=False,
                highlight=False,
            )
        raise typer.Exit(1)


def _run_until_stopped(
    worker: "IngestWorker", table: str, stop: threading.Event, failed: dict[str, Exception]
) -> None:
    """Run `worker` until `stop`; if it fails, record why and stop the others.

    A dead thread in a live process would leave its table unwritten with nothing to notice:
    the whole process exits instead, and its supervisor (`dataplatform up`, Kubernetes) starts
    it again, resuming from what bronze holds.
    """
    try:
        worker.run(stop)
    except Exception as exc:
        logger.exception("the ingestion worker of %s failed; stopping the others", table)
        failed[table] = exc
        stop.set()


def _migrated(store: "MetadataStore") -> "MetadataStore":
    """`store`, refused unless its migrations are applied: the suppression list lives there."""
    from dataplatform.core.errors import TerminalError

    if store.current_revision() != store.head_revision():
        raise TerminalError(
            f"The metadata store at {store.safe_url} is at revision {store.current_revision()}, "
            f"not {store.head_revision()}; run `dataplatform db upgrade`."
        )
    return store
