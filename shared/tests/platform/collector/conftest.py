import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from dataplatform.core.config import CollectorLimits
from dataplatform.core.connectors.bus import EmbeddedBus
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import Collector, EventRouter, create_collector_app
from dataplatform.platform.sources import SourceRegistry

MOBILE = "mobile_user_analytics.bronze.app_events"
WEB = "web_user_analytics.bronze.clickstream"
MOBILE_QUARANTINE = "mobile_user_analytics.quarantine.app_events"
WEB_QUARANTINE = "web_user_analytics.quarantine.clickstream"


@dataclass
class RunningCollector:
    url: str
    lake: Lakehouse
    sources: SourceRegistry
    ios_key: str
    web_key: str
    server_key: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def collector(lake: Lakehouse, tmp_path: Path) -> Iterator[RunningCollector]:
    """A collector on a loopback port, embedded bus, SQLite store, with three sources."""
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    sources = SourceRegistry(store, cache_seconds=0.2)
    _, ios_key = sources.create("ios-app", "ios", "mobile-user-analytics")
    _, web_key = sources.create("website", "web", "web-user-analytics")
    _, server_key = sources.create("backend", "server", "web-user-analytics")
    limits = CollectorLimits(
        max_event_bytes=4096,
        max_body_bytes=64 * 1024,
        max_posthog_batch_bytes=128 * 1024,
        max_batch_events=50,
    )
    app = create_collector_app(
        Collector(limits, sources, EmbeddedBus(lake), EventRouter(discover_products()))
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "collector did not start"
        time.sleep(0.01)
    yield RunningCollector(f"http://127.0.0.1:{port}", lake, sources, ios_key, web_key, server_key)
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()
