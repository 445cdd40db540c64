"""`make demo`: what the platform can show today, on a throw-away lake under `.data/demo`.

It writes a few events to two products' bronze tables, snapshots the lake, changes it, and
restores the snapshot. The collector, gateway and console join the demo when they land.
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


def main() -> None:
    shutil.rmtree(DEMO_ROOT, ignore_errors=True)
    lake = Lakehouse(DEMO_ROOT / "lake")
    store = MetadataStore(f"sqlite:///{DEMO_ROOT / 'metadata.db'}")
    store.upgrade()
    products = discover_products()
    console.rule("Products found through entry points")
    for product in products:
        console.print(f"{product.name:24} {product.prefix:12} owner {product.owner}")

    console.rule("Exactly-once writes to bronze")
    start = datetime(2026, 11, 25, 12, tzinfo=UTC)
    mobile, web = "mobile_user_analytics.bronze.app_events", "web_user_analytics.bronze.clickstream"
    lake.append(mobile, _events("ios-app", 5, start), txn=Txn("demo-loader", 1))
    replay = lake.append(mobile, _events("ios-app", 5, start), txn=Txn("demo-loader", 1))
    lake.append(web, _events("website", 8, start))
    console.print(
        f"replayed write skipped: {replay.skipped}; {mobile} has {lake.read(mobile).num_rows} rows"
    )

    console.rule("Snapshot, change, restore")
    snapshots = Snapshots(lake, store)
    snapshots.create("before-cleanup")
    lake.delete(web, "user_id = 'user-0'")
    console.print(f"after delete: {web} has {lake.read(web).num_rows} rows")
    result = snapshots.restore("before-cleanup")
    console.print(f"restored {list(result.restored)}; {web} has {lake.read(web).num_rows} rows")

    console.rule("DuckDB over the lake")
    counts = QueryEngine(lake).query(
        "select user_id, count(*) as events from web group by user_id order by user_id",
        {"web": web},
    )
    for row in counts.to_pylist():
        console.print(f"{row['user_id']}: {row['events']} events")
    console.rule()
    console.print(
        "not yet: the collector, API gateway and admin console arrive with the ingestion and "
        "platform issues. `make test` runs the whole suite."
    )


if __name__ == "__main__":
    main()
