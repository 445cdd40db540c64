"""The `dataplatform` command line."""

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dataplatform import __version__
from dataplatform.cli.audit import audit_app
from dataplatform.cli.models import models_app
from dataplatform.cli.orchestrator import jobs_app, status, up
from dataplatform.cli.report import report
from dataplatform.cli.users import keys_app, users_app
from dataplatform.core.config import PlatformSettings, load_settings, redacted
from dataplatform.core.errors import PlatformError
from dataplatform.core.logging import configure_logging

if TYPE_CHECKING:
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse, Snapshots
    from dataplatform.platform.sources import SourceRegistry

app = typer.Typer(
    no_args_is_help=True, help="Data Platform: lakehouse, metadata store and products."
)
config_app = typer.Typer(no_args_is_help=True, help="Show the configuration in force.")
snapshot_app = typer.Typer(
    no_args_is_help=True, help="Record and restore the version of every table."
)
lake_app = typer.Typer(no_args_is_help=True, help="Inspect and maintain lakehouse tables.")
db_app = typer.Typer(no_args_is_help=True, help="Migrate the metadata store.")
ingest_app = typer.Typer(no_args_is_help=True, help="Move events from the bus into bronze.")
sources_app = typer.Typer(
    no_args_is_help=True, help="Apps, sites and servers allowed to send events."
)
app.add_typer(config_app, name="config")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(lake_app, name="lake")
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(ingest_app, name="ingest")
app.add_typer(models_app, name="models")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.command("report")(report)
app.add_typer(jobs_app, name="jobs")
app.command()(up)
app.command()(status)

console = Console()
errors = Console(stderr=True)


def main() -> None:
    """Entry point: run the CLI, turning platform errors into one red line and exit code 1."""
    try:
        app()
    except PlatformError as exc:
        errors.print(
            f"error [{exc.code}] {exc.message}", style="red", markup=False, highlight=False
        )
        sys.exit(1)


def _settings() -> PlatformSettings:
    settings = load_settings(PlatformSettings)
    configure_logging(settings.log_level, "console")
    return settings


def _lake(settings: PlatformSettings | None = None) -> "Lakehouse":
    from dataplatform.core.connectors.lakehouse import Lakehouse

    settings = settings or _settings()
    return Lakehouse(settings.lake_root, settings.storage_options)


def _snapshots() -> "Snapshots":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Snapshots

    settings = _settings()
    return Snapshots(_lake(settings), MetadataStore(settings.database_url))


@app.command()
def version() -> None:
    """Print the platform's version."""
    console.print(__version__)


@config_app.command("show")
def config_show(
    product: Annotated[str | None, typer.Option(help="Also show this product's settings.")] = None,
) -> None:
    """Print the settings in force as JSON, with secrets redacted."""
    shown = {"platform": redacted(_settings())}
    if product:
        from dataplatform.core.product import get_product

        declared = get_product(product)
        shown = {
            "platform": redacted(declared.platform_settings()),
            product: redacted(declared.settings()),
        }
    console.print_json(data=shown)


@snapshot_app.command("create")
def snapshot_create(label: str) -> None:
    """Record the current version of every table under LABEL."""
    snapshot = _snapshots().create(label)
    console.print(f"snapshot [bold]{label}[/bold]: {len(snapshot.versions)} tables recorded")


@snapshot_app.command("list")
def snapshot_list() -> None:
    """List the snapshots of the configured lake."""
    table = Table("label", "created at", "tables")
    for snapshot in _snapshots().list():
        table.add_row(snapshot.label, snapshot.created_at.isoformat(), str(len(snapshot.versions)))
    console.print(table)


@snapshot_app.command("restore")
def snapshot_restore(label: str) -> None:
    """Bring every table recorded in LABEL back to its recorded version."""
    result = _snapshots().restore(label)
    for name, restored_version in result.restored.items():
        console.print(f"restored {name} to version {restored_version}")
    console.print(f"{len(result.restored)} restored, {len(result.unchanged)} already there")
    if result.not_in_snapshot:
        console.print(
            f"left as they are (made after the snapshot): {', '.join(result.not_in_snapshot)}"
        )


@lake_app.command("tables")
def lake_tables() -> None:
    """List every table with its latest version."""
    lake = _lake()
    table = Table("table", "version")
    for name in lake.tables():
        table.add_row(str(name), str(lake.version(name)))
    console.print(table)


@lake_app.command("history")
def lake_history(name: str, limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """Show a table's commits, newest first."""
    table = Table("version", "time", "operation", "parameters")
    for commit in _lake().history(name, limit):
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
    lake = _lake()
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
    snapshots = _snapshots()
    removed = snapshots.lake.vacuum(
        name,
        retention_hours=retention_hours,
        keep_versions=snapshots.protected_versions(name),
        dry_run=dry_run,
    )
    console.print(f"{name}: {len(removed)} files {'would be ' if dry_run else ''}deleted")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the metadata store's migrations up to REVISION."""
    from dataplatform.core.connectors.db import MetadataStore

    store = MetadataStore(_settings().database_url)
    store.upgrade(revision)
    console.print(f"{store.safe_url} is at revision {store.current_revision()}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert the metadata store's migrations down to REVISION (`base` for none)."""
    from dataplatform.core.connectors.db import MetadataStore

    store = MetadataStore(_settings().database_url)
    store.downgrade(revision)
    console.print(f"{store.safe_url} is at revision {store.current_revision()}")


def _migrated(store: "MetadataStore") -> "MetadataStore":
    """`store`, refused unless its migrations are applied: the suppression list lives there."""
    from dataplatform.core.errors import TerminalError

    if store.current_revision() != store.head_revision():
        raise TerminalError(
            f"The metadata store at {store.safe_url} is at revision {store.current_revision()}, "
            f"not {store.head_revision()}; run `dataplatform db upgrade`."
        )
    return store


def _sources() -> "SourceRegistry":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.platform.sources import SourceRegistry

    return SourceRegistry(MetadataStore(_settings().database_url))


@sources_app.command("create")
def sources_create(
    name: str,
    kind: Annotated[str, typer.Option(help="ios, android, web or server.")],
    product: Annotated[str, typer.Option(help="The product its events go to.")],
) -> None:
    """Create a source and print its write key (shown this once only)."""
    source, write_key = _sources().create(name, kind, product)
    console.print(f"source [bold]{source.name}[/bold] ({source.kind} -> {source.product})")
    console.print(f"write key: {write_key}", highlight=False)
    console.print("Keep it now: only its hash is stored.")


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their kind, product, key prefix and state."""
    table = Table("name", "kind", "product", "key", "created", "state")
    for source in _sources().list():
        state = "active" if source.active else f"revoked {source.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(
            source.name,
            source.kind,
            source.product,
            f"{source.key_prefix}...",
            f"{source.created_at:%Y-%m-%d %H:%M}",
            state,
        )
    console.print(table)


@sources_app.command("revoke")
def sources_revoke(name: str) -> None:
    """Revoke a source's write key; the collector refuses it within seconds."""
    source = _sources().revoke(name)
    console.print(f"source {source.name} revoked")


@ingest_app.command("run")
def ingest_run(
    product: Annotated[str, typer.Option(help="Ingest this product's streams.")],
    consumer: Annotated[
        str, typer.Option(help="This worker's stable name in the consumer group.")
    ] = "worker-1",
) -> None:
    """Write the product's streams (and their quarantine) from the bus into Delta until stopped;
    an erased person's new events are dropped (the metadata store holds the suppression list)."""
    import signal
    import threading

    from dataplatform.core.errors import TerminalError
    from dataplatform.core.product import get_product

    declared = get_product(product)
    settings = declared.platform_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.bus == "embedded":
        raise TerminalError(
            "The embedded bus writes bronze inside the collector; set DATAPLATFORM_BUS=redis "
            "or kafka to run ingestion workers."
        )
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.platform.collector import bronze_lake

    lake = bronze_lake(settings, _migrated(MetadataStore(settings.database_url)))
    tables = [
        name
        for stream in declared.streams
        for name in (
            declared.table_name(stream.table),
            f"{declared.namespace}.quarantine.{stream.name}",
        )
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    workers = [_ingest_worker(settings, lake, table, consumer) for table in tables]
    threads = [
        threading.Thread(target=worker.run, args=(stop,), name=table)
        for worker, table in zip(workers, tables, strict=True)
    ]
    for thread in threads:
        thread.start()
    console.print(f"ingesting {', '.join(tables)} from {settings.bus}; Ctrl-C stops")
    for thread in threads:
        thread.join()


def _ingest_worker(
    settings: "PlatformSettings", lake: "Lakehouse", table: str, consumer: str
) -> "Any":
    if settings.bus == "redis":
        from dataplatform.core.connectors.bus.redis import RedisIngestWorker

        return RedisIngestWorker(lake, settings.redis_url, table, consumer=consumer)
    from dataplatform.core.connectors.bus.kafka import KafkaIngestWorker

    return KafkaIngestWorker(lake, settings.kafka_bootstrap_servers, table)


@app.command()
def generate(
    users: Annotated[int, typer.Option(min=1)] = 1000,
    days: Annotated[int, typer.Option(min=1)] = 7,
    seed: int = 42,
    start: Annotated[
        datetime | None, typer.Option(help="First day (UTC); default: DAYS days before today.")
    ] = None,
    collector_url: Annotated[
        str | None, typer.Option(help="Send to this running collector (needs the three keys).")
    ] = None,
    ios_key: str | None = None,
    android_key: str | None = None,
    web_key: str | None = None,
    direct: Annotated[bool, typer.Option(help="Write bronze directly, for large volumes.")] = False,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP connections.")] = 4,
) -> None:
    """Generate realistic mobile and web traffic and send it through the collector.

    Without --collector-url, a collector is started on a loopback port with the sources
    synthetic-ios, synthetic-android and synthetic-web (created, or given fresh keys).
    """
    from rich.progress import Progress

    from dataplatform.platform.generator import (
        TrafficGenerator,
        WriteKeys,
        send_over_http,
        write_to_bronze,
    )

    settings = _settings()
    generator = TrafficGenerator(users, days, seed, start.replace(tzinfo=UTC) if start else None)
    with Progress(console=errors) as progress:
        task = progress.add_task("events", total=None)

        def advance(count: int) -> None:
            progress.advance(task, count)

        if direct:
            destinations = {
                "mobile": "mobile_user_analytics.bronze.app_events",
                "web": "web_user_analytics.bronze.clickstream",
            }
            sent = write_to_bronze(generator, _lake(), destinations, on_sent=advance)
        elif collector_url:
            if not (ios_key and android_key and web_key):
                raise typer.BadParameter(
                    "--collector-url needs --ios-key, --android-key and --web-key"
                )
            sent = send_over_http(
                generator,
                collector_url,
                WriteKeys(ios_key, android_key, web_key),
                clients=clients,
                on_sent=advance,
            )
        else:
            sent = _generate_through_local_collector(settings, generator, clients, advance)
    console.print(f"{sent} events from {users} users over {days} days")


def _generate_through_local_collector(
    settings: PlatformSettings, generator: "Any", clients: int, advance: "Any"
) -> int:
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.platform.collector import collector_app, serve_in_background
    from dataplatform.platform.generator import WriteKeys, send_over_http
    from dataplatform.platform.sources import SourceRegistry

    store = MetadataStore(settings.database_url)
    store.upgrade()
    registry = SourceRegistry(store)
    existing = {source.name for source in registry.list()}
    keys = {}
    for kind, product in (
        ("ios", "mobile-user-analytics"),
        ("android", "mobile-user-analytics"),
        ("web", "web-user-analytics"),
    ):
        name = f"synthetic-{kind}"
        keys[kind] = (
            registry.rotate(name) if name in existing else registry.create(name, kind, product)[1]
        )
    with serve_in_background(collector_app(settings)) as url:
        return send_over_http(generator, url, WriteKeys(**keys), clients=clients, on_sent=advance)


@app.command()
def serve(
    product: Annotated[str | None, typer.Option(help="Serve this product alone.")] = None,
    collector: Annotated[bool, typer.Option(help="Serve the event collector alone.")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes; one per core uses every core.")
    ] = 1,
) -> None:
    """Serve the API gateway (every product, the collector, auth, catalog, admin), or one product
    alone, or the collector alone; each with health probes and metrics."""
    import uvicorn

    if product is not None and collector:
        raise typer.BadParameter("pass at most one of --product NAME or --collector")
    settings = _settings()  # refuse a bad setting here, before any worker starts
    if product is not None:
        from dataplatform.core.connectors.db import MetadataStore
        from dataplatform.core.product import get_product
        from dataplatform.platform.serve import product_app

        declared = get_product(product)
        settings = declared.platform_settings()
        MetadataStore(settings.database_url).upgrade()
        configure_logging(settings.log_level, settings.log_format)
        uvicorn.run(
            product_app(declared),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # only gateway.trusted_proxies are believed, as below
        )
        return
    if not collector:
        from dataplatform.core.connectors.db import MetadataStore

        MetadataStore(settings.database_url).upgrade()
    factory = (
        "dataplatform.platform.collector:app_from_environment"
        if collector
        else "dataplatform.platform.gateway:app_from_environment"
    )
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # Uvicorn would believe X-Forwarded-For from any client on 127.0.0.1 (its default
        # forwarded_allow_ips), so a local client could pose as any address; the app believes
        # only the proxies in `gateway.trusted_proxies`.
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
