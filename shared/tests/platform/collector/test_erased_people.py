"""An erased person's new events stay out of bronze, through the embedded bus (the collector
alone, or in the gateway) and through the Redis bus and its ingestion worker; the events of
their other erased ids go too, everyone else's are stored."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.governance import SuppressionList
from dataplatform.platform.collector import collector_app, serve_in_background
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import MOBILE, platform_settings, running_gateway

CLI = str(Path(sys.executable).with_name("dataplatform"))

# zoe was erased with the install id her events carried; max was not.
ERASED = ["zoe", "zoe-phone"]
BATCH = {
    "batch": [
        {"type": "track", "event": "open", "userId": "zoe", "anonymousId": "zoe-phone",
         "messageId": "zoe-signed-in"},
        {"type": "track", "event": "open", "anonymousId": "zoe-phone",
         "messageId": "zoe-signed-out"},
        {"type": "track", "event": "open", "userId": "max", "anonymousId": "max-phone",
         "messageId": "max-signed-in"},
        {"type": "screen", "name": "home", "anonymousId": "max-phone",
         "messageId": "max-signed-out"},
    ]
}  # fmt: skip
KEPT = ["max-signed-in", "max-signed-out"]


def platform_with_erased_zoe(settings: PlatformSettings) -> str:
    """Migrate the store, list zoe's ids as erased, and return an iOS source's write key."""
    store = MetadataStore(settings.database_url)
    store.upgrade()
    SuppressionList(store).add(ERASED, "request-1")
    _, key = SourceRegistry(store).create("ios-app", "ios", "mobile-user-analytics")
    store.dispose()
    return key


def post_batch(url: str, key: str) -> None:
    response = httpx.post(f"{url}/v1/batch", json=BATCH, auth=(key, ""), timeout=60)
    assert response.status_code == 200, response.text


def send(settings: PlatformSettings, key: str) -> None:
    """Post the batch to the collector `dataplatform serve --collector` runs."""
    with serve_in_background(collector_app(settings)) as url:
        post_batch(url, key)


def stored_events(lake_root: Path) -> list[str]:
    lake = Lakehouse(lake_root)
    return sorted(lake.read(MOBILE)["event_id"].to_pylist()) if lake.exists(MOBILE) else []


def test_the_embedded_bus_keeps_an_erased_persons_new_events_out_of_bronze(
    database_url: str, lake_root: Path
) -> None:
    settings = platform_settings(database_url, lake_root)
    key = platform_with_erased_zoe(settings)

    send(settings, key)

    assert stored_events(lake_root) == KEPT


def test_the_gateways_collector_keeps_an_erased_persons_new_events_out_of_bronze(
    sqlite_url: str, lake_root: Path
) -> None:
    settings = platform_settings(sqlite_url, lake_root)
    key = platform_with_erased_zoe(settings)

    with running_gateway(settings) as gateway:
        post_batch(gateway.url, key)

    assert stored_events(lake_root) == KEPT


@pytest.mark.redis
def test_the_redis_ingestion_worker_keeps_an_erased_persons_new_events_out_of_bronze(
    redis_url: str, sqlite_url: str, lake_root: Path
) -> None:
    settings = platform_settings(sqlite_url, lake_root, bus="redis", redis_url=redis_url)
    key = platform_with_erased_zoe(settings)
    send(settings, key)  # one stream entry: the worker commits the four events together

    worker = subprocess.Popen(
        [CLI, "ingest", "run", "--product", "mobile-user-analytics"],
        env={
            **os.environ,
            "DATAPLATFORM_BUS": "redis",
            "DATAPLATFORM_REDIS_URL": redis_url,
            "DATAPLATFORM_LAKE_ROOT": str(lake_root),
            "DATAPLATFORM_DATABASE_URL": sqlite_url,
        },
        stderr=subprocess.PIPE,
    )
    try:
        # A generous bound for a slow machine: it only ends the wait, nothing is timed.
        deadline = time.monotonic() + 120
        while not stored_events(lake_root) and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker wrote nothing to bronze"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)

    assert worker.returncode == 0, stderr.decode()
    assert stored_events(lake_root) == KEPT


def test_an_ingestion_worker_refuses_a_store_without_the_suppression_list(
    tmp_path: Path, lake_root: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'unmigrated.db'}"

    result = subprocess.run(
        [CLI, "ingest", "run", "--product", "mobile-user-analytics"],
        env={
            **os.environ,
            "DATAPLATFORM_BUS": "redis",
            "DATAPLATFORM_LAKE_ROOT": str(lake_root),
            "DATAPLATFORM_DATABASE_URL": database_url,
        },
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "run `dataplatform db upgrade`" in result.stderr.decode()
