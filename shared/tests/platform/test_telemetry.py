"""The platform's own state published as lake tables: model runs, table statistics, the catalog,
the gateway's metrics and the bus lag, for the operational-metrics and compliance products."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest
import redis

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.bus import encode_rows
from dataplatform.core.connectors.bus.redis import RedisIngestWorker, RedisStreamBus, stream_key
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import RunLog
from dataplatform.core.product import discover_products
from dataplatform.platform.catalog import DataCatalog, TableChanges
from dataplatform.platform.telemetry import (
    BUS_LAG_TABLE,
    CATALOG_TABLE,
    MODEL_RUNS_TABLE,
    SERVICE_METRICS_TABLE,
    TABLE_STATS_TABLE,
    gateway_scraper,
    publish_bus_lag,
    publish_catalog,
    publish_model_runs,
    publish_service_metrics,
    publish_table_stats,
)
from dataplatform.testing import MOBILE, WEB, RunningGateway, app_events

SESSIONS = "mobile_user_analytics.silver.sessions"


@pytest.fixture
def catalog(store: MetadataStore, lake: Lakehouse) -> DataCatalog:
    catalog = DataCatalog(store, lake)
    catalog.register_products(discover_products())
    return catalog


def test_finished_runs_are_published_once_in_order_and_a_running_one_waits(
    store: MetadataStore, lake: Lakehouse
) -> None:
    runs = RunLog(store)
    first = runs.start(SESSIONS, 1, "incremental", "duckdb", {})
    second = runs.start("web_user_analytics.gold.pages", 1, "full", "duckdb", {})
    third = runs.start(SESSIONS, 2, "incremental", "duckdb", {})
    runs.finish(first, "succeeded", rows_in=10, rows_out=4, checks=[{"passed": True}])
    runs.finish(third, "failed", error="boom", checks=[{"passed": False}, {"passed": True}])

    before_second_ends = publish_model_runs(store, lake)
    runs.finish(second, "succeeded", rows_out=2)
    after_second_ends = publish_model_runs(store, lake)
    nothing_new = publish_model_runs(store, lake)

    published = lake.read(MODEL_RUNS_TABLE).sort_by("run_id").to_pylist()
    assert (before_second_ends, after_second_ends, nothing_new) == (1, 2, 0)
    assert [(r["run_id"], r["product"], r["status"]) for r in published] == [
        (first, "mobile-user-analytics", "succeeded"),
        (second, "web-user-analytics", "succeeded"),
        (third, "mobile-user-analytics", "failed"),
    ]
    assert published[0]["rows_out"] == 4 and published[0]["duration_ms"] >= 0
    assert published[2]["checks_failed"] == 1 and published[2]["error"] == "boom"


def test_table_stats_gain_a_row_when_a_table_changes(catalog: DataCatalog, lake: Lakehouse) -> None:
    lake.append(MOBILE, app_events("a", "b"))
    first = publish_table_stats(catalog, lake)
    unchanged = publish_table_stats(catalog, lake)
    lake.append(MOBILE, app_events("c"))
    grown = publish_table_stats(catalog, lake)

    stats = lake.read(TABLE_STATS_TABLE).sort_by("version").to_pylist()
    rows = [r for r in stats if r["table_name"] == MOBILE]
    assert (first >= 1, unchanged, grown) == (True, 0, 1)
    assert [(r["version"], r["row_count"]) for r in rows] == [(0, 2), (1, 3)]
    assert rows[0]["product"] == "mobile-user-analytics" and rows[0]["layer"] == "bronze"


def test_the_catalog_is_rewritten_only_when_it_changes(
    catalog: DataCatalog, lake: Lakehouse
) -> None:
    written = publish_catalog(catalog, lake)
    again = publish_catalog(catalog, lake)
    catalog.update_table(MOBILE, TableChanges(retention_days=30))
    after_change = publish_catalog(catalog, lake)

    rows = {r["table_name"]: r for r in lake.read(CATALOG_TABLE).to_pylist()}
    assert written == len(rows) and again == 0 and after_change == len(rows)
    assert rows[MOBILE]["retention_days"] == 30
    assert "user_id" in rows[MOBILE]["pii_columns"]
    assert rows[MOBILE]["owner"] == "mobile-analytics-team"
    assert "event_id" in {column["name"] for column in json.loads(rows[MOBILE]["columns"])}
    assert lake.table(CATALOG_TABLE).version() == 2  # created, written, rewritten once


def test_gateway_metrics_are_sampled_as_its_monitoring_user(gateway: RunningGateway) -> None:
    httpx.get(f"{gateway.url}/mobile/tables", headers=gateway.admin)
    store, lake = gateway.services.store, gateway.services.lake
    scrape = gateway_scraper(gateway.services.settings, store, f"{gateway.url}/metrics")

    sampled = publish_service_metrics(lake, "gateway", scrape)
    # A second scraper finds the monitoring user made by the first.
    gateway_scraper(gateway.services.settings, store, f"{gateway.url}/metrics")

    rows = lake.read(SERVICE_METRICS_TABLE).to_pylist()
    assert sampled == len(rows) > 0
    assert all(row["metric"].startswith("dataplatform_") for row in rows)
    requests = [
        json.loads(row["labels"])
        for row in rows
        if row["metric"] == "dataplatform_http_requests_total" and row["value"] >= 1
    ]
    # Counters are the process's: other tests in it may have counted other statuses of the route.
    answered = {"route": "/mobile/tables", "method": "GET", "status": "200"}.items()
    assert any(answered <= labels.items() for labels in requests), requests
    assert gateway.services.auth.users.get("platform-monitor").roles == ("monitoring",)


def test_a_refused_scrape_says_so(gateway: RunningGateway, lake: Lakehouse) -> None:
    scrape = gateway_scraper(
        gateway.services.settings, gateway.services.store, f"{gateway.url}/nope"
    )

    with pytest.raises(httpx.HTTPStatusError):
        publish_service_metrics(lake, "gateway", scrape)


# --- bus lag ------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def bus_lag(lake: Lakehouse) -> dict[str, tuple[Any, ...]]:
    """The latest round of platform.gold.bus_lag, per stream: product, bus, events, seconds."""
    rows = lake.read(BUS_LAG_TABLE).to_pylist()
    latest = max(row["observed_at"] for row in rows)
    return {
        row["stream"]: (
            row["product"],
            row["bus"],
            row["waiting_events"],
            row["oldest_waiting_seconds"],
        )
        for row in rows
        if row["observed_at"] == latest
    }


def test_nothing_waits_on_the_embedded_bus(lake: Lakehouse) -> None:
    settings = PlatformSettings(bus="embedded")

    published = publish_bus_lag(settings, lake, discover_products(), now=NOW)

    # Products without streams (compliance, segmentation, operational metrics) have no rows.
    assert published == 2
    assert bus_lag(lake) == {
        MOBILE: ("mobile-user-analytics", "embedded", 0, 0.0),
        WEB: ("web-user-analytics", "embedded", 0, 0.0),
    }
    assert lake.read(BUS_LAG_TABLE)["observed_at"].to_pylist() == [NOW, NOW]


@pytest.mark.redis
def test_events_wait_on_redis_until_the_ingestion_worker_writes_them(
    redis_url: str, lake: Lakehouse
) -> None:
    """Three mobile events in two stream entries: `early` (2 events, added two minutes ago by
    Redis' clock) and `late` (1 event, published now through the bus). Nothing on the web stream."""
    settings = PlatformSettings(bus="redis", redis_url=redis_url)
    client = redis.Redis.from_url(redis_url)
    seconds, _ = client.time()
    two_minutes_ago_ms = (seconds - 120) * 1000
    early = app_events("e1", "e2")
    client.xadd(
        stream_key(MOBILE),
        {"rows": encode_rows(early.schema, early.to_pylist())},
        id=f"{two_minutes_ago_ms}-0",
    )
    late = app_events("e3")

    async def publish_late() -> None:
        bus = RedisStreamBus(redis_url)
        await bus.publish(MOBILE, late.schema, late.to_pylist())
        await bus.close()

    asyncio.run(publish_late())
    products = discover_products()

    def measure() -> tuple[Any, ...]:
        publish_bus_lag(settings, lake, products)
        lag = bus_lag(lake)
        assert lag[WEB] == ("web-user-analytics", "redis", 0, 0.0)  # never published to
        _, bus, events, oldest = lag[MOBILE]
        return bus, events, oldest

    # No worker has read the stream yet: both entries wait; the oldest is `early`.
    bus, before_any_worker, oldest = measure()
    assert (bus, before_any_worker) == ("redis", 3)
    assert 120 <= oldest < 180

    # A worker joins the group and reads `early` without acknowledging it (not in bronze yet):
    # still waiting, as `late` is, never delivered.
    worker = RedisIngestWorker(lake, redis_url, MOBILE, block_ms=10)
    client.xreadgroup("bronze-writers", worker.consumer, {stream_key(MOBILE): ">"}, count=1)
    _, delivered_not_acknowledged, oldest = measure()
    assert delivered_not_acknowledged == 3
    assert 120 <= oldest < 180

    # The worker writes and acknowledges its pending `early`: only `late` waits, added just now.
    assert worker.step() == 1
    _, after_early, oldest = measure()
    assert after_early == 1
    assert 0 <= oldest < 60

    # It writes `late`: nothing waits, and bronze holds the three events once.
    assert worker.step() == 1
    _, after_late, oldest = measure()
    assert (after_late, oldest) == (0, 0.0)
    assert sorted(lake.read(MOBILE)["event_id"].to_pylist()) == ["e1", "e2", "e3"]
    worker.close()
    client.close()
