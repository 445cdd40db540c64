"""`dataplatform generate`: realistic mobile and web traffic, sent through the collector."""

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataplatform.cli._common import cli_settings, console, errors, lakehouse

if TYPE_CHECKING:
    from dataplatform.core.config import PlatformSettings
    from dataplatform.platform.generator import TrafficGenerator


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
    direct: Annotated[
        bool, typer.Option(help="Write bronze directly, as columns: millions of events a minute.")
    ] = False,
    events: Annotated[
        int | None,
        typer.Option(
            min=1, help="With --direct: this many events in all (each day's activity follows)."
        ),
    ] = None,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP connections.")] = 4,
) -> None:
    """Generate realistic mobile and web traffic and send it through the collector.

    Without --collector-url, a collector is started on a loopback port with the sources
    synthetic-ios, synthetic-android and synthetic-web (created, or given fresh keys).
    """
    from rich.progress import Progress

    from dataplatform.platform.generator import TrafficGenerator, WriteKeys, send_over_http

    if events is not None and not direct:
        raise typer.BadParameter("is only for --direct", param_hint="--events")
    settings = cli_settings()
    generator = TrafficGenerator(users, days, seed, start.replace(tzinfo=UTC) if start else None)
    if direct:
        sent = _generate_direct(generator, events)
        console.print(f"{sent} events from {users} users over {days} days")
        return
    with Progress(console=errors) as progress:
        task = progress.add_task("events", total=None)

        def advance(count: int) -> None:
            progress.advance(task, count)

        if collector_url:
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
    settings: "PlatformSettings", generator: "Any", clients: int, advance: "Any"
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


def _generate_direct(generator: "TrafficGenerator", events: int | None) -> int:
    """Columns straight into both bronze tables, with a bar of events written of the total."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from dataplatform.core.errors import InvalidRequestError
    from dataplatform.platform.generator import Volume, expected_events, write_columns

    try:
        volume = Volume(generator.users, generator.days, generator.start, generator.seed, events)
    except InvalidRequestError as error:
        raise typer.BadParameter(error.message, param_hint=f"--{error.field}") from None
    destinations = {
        "mobile": "mobile_user_analytics.bronze.app_events",
        "web": "web_user_analytics.bronze.clickstream",
    }
    columns = (
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*Progress.get_default_columns()[:1], *columns, console=errors) as progress:
        task = progress.add_task("events", total=expected_events(volume), rate="")
        started, done = time.monotonic(), 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            rate = f"{done / (time.monotonic() - started):,.0f} events/s"
            progress.update(task, advance=count, rate=rate)

        written = write_columns(volume, lakehouse(), destinations, on_written=advance)
        progress.update(task, total=written, completed=written)
    return written
