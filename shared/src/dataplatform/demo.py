"""`make demo`: what the platform can show today, on a throw-away lake under `.data/demo`.

It sends a day of synthetic mobile and web traffic through the collector over HTTP, writes
exactly once, snapshots the lake, changes it and restores it, queries bronze with DuckDB, and
runs mobile-user-analytics's models incrementally.
The gateway and console join the demo when they land.
"""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from rich.console import Console

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Snapshots, Txn
from dataplatform.core.engine import QueryEngine
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.logging import configure_logging
from dataplatform.core.product import discover_products

DEMO_ROOT = Path(".data/demo")
console = Console()


def _events(source: str, count: int, start: datetime) -> pa.Table:
    rows = []
    for index in range(count):
        at = start + timedelta(seconds=index)
        rows.append(
            {
                "event_id": f"{source}-{index}",
                "type": "track",
                "event": "demo_event",
                "user_id": f"user-{index % 3}",
                "anonymous_id": None,
                "timestamp": at,
                "original_timestamp": at,
                "sent_at": at,
                "received_at": at,
                "source_id": source,
                "wire_format": "segment",
                "context": "{}",
                "properties": "{}",
                "raw": "{}",
            }
        )
    return pa.Table.from_pylist(rows, schema=ENVELOPE_SCHEMA)


def _through_the_collector(lake: Lakehouse, store: MetadataStore) -> int:
    from dataplatform.core.config import CollectorLimits
    from dataplatform.core.connectors.bus import EmbeddedBus
    from dataplatform.platform.collector import (
        Collector,
        EventRouter,
        create_collector_app,
        serve_in_background,
    )
    from dataplatform.platform.generator import TrafficGenerator, WriteKeys, send_over_http
    from dataplatform.platform.sources import SourceRegistry

    sources = SourceRegistry(store)
    keys = WriteKeys(
        ios=sources.create("demo-ios", "ios", "mobile-user-analytics")[1],
        android=sources.create("demo-android", "android", "mobile-user-analytics")[1],
        web=sources.create("demo-web", "web", "web-user-analytics")[1],
    )
    collector = Collector(
        CollectorLimits(), sources, EmbeddedBus(lake), EventRouter(discover_products())
    )
    with serve_in_background(create_collector_app(collector)) as url:
        return send_over_http(TrafficGenerator(users=50, days=1, seed=1), url, keys)


def _run_models(lake: Lakehouse, store: MetadataStore) -> None:
    from dataplatform.core.processing import ModelRunner
    from dataplatform.core.product import get_product

    runner = ModelRunner(get_product("mobile-user-analytics").model_graph(), lake, store)
    for attempt in ("first run", "run again"):
        for result in runner.run():
            console.print(
                f"{attempt:9} {result.model}: {result.status}, "
                f"{result.rows_in} rows in, {result.rows_out} out"
            )


def main() -> None:
    configure_logging("WARNING", "console")
    shutil.rmtree(DEMO_ROOT, ignore_errors=True)
    lake = Lakehouse(DEMO_ROOT / "lake")
    store = MetadataStore(f"sqlite:///{DEMO_ROOT / 'metadata.db'}")
    store.upgrade()
    console.rule("Products found through entry points")
    for product in discover_products():
        console.print(f"{product.name:24} {product.prefix:12} owner {product.owner}")

    console.rule("A day of traffic through the collector (Segment and PostHog wire formats)")
    sent = _through_the_collector(lake, store)
    console.print(f"{sent} events accepted over HTTP, each answered after its Delta commit")

    console.rule("Exactly-once writes to bronze")
    mobile, web = "mobile_user_analytics.bronze.app_events", "web_user_analytics.bronze.clickstream"
    before = lake.read(mobile).num_rows
    start = datetime(2026, 11, 25, 12, tzinfo=UTC)
    lake.append(mobile, _events("ios-app", 5, start), txn=Txn("demo-loader", 1))
    replay = lake.append(mobile, _events("ios-app", 5, start), txn=Txn("demo-loader", 1))
    gained = lake.read(mobile).num_rows - before
    console.print(
        f"the same 5 rows written twice as txn 1: replay skipped={replay.skipped}, gained {gained}"
    )

    console.rule("Snapshot, change, restore")
    snapshots = Snapshots(lake, store)
    snapshots.create("before-cleanup")
    rows = lake.read(web).num_rows
    removed = lake.delete(web, "type = 'page'").rows
    console.print(
        f"deleted {removed} page views from {web}: {rows} -> {lake.read(web).num_rows} rows"
    )
    result = snapshots.restore("before-cleanup")
    console.print(f"restored {', '.join(result.restored)}: {lake.read(web).num_rows} rows again")

    console.rule("DuckDB over the lake")
    counts = QueryEngine(lake).query(
        "select wire_format, type, count(*) as events from web group by all order by all",
        {"web": web},
    )
    for row in counts.to_pylist():
        console.print(f"{row['wire_format']:8} {row['type']:9} {row['events']:6} events")
    console.rule("Models: bronze -> silver, incrementally and exactly once")
    _run_models(lake, store)
    console.rule()
    console.print(
        "not yet: the API gateway and admin console arrive with the platform issue. "
        "`make test` runs the whole suite."
    )


if __name__ == "__main__":
    main()
