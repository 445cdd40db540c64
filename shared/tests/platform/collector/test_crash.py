"""kill -9 the collector while traffic flows, start it again: every acknowledged event is in
bronze exactly once."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.collector import free_port
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import MOBILE, Traffic, start_collector_process

CLI = str(Path(sys.executable).with_name("dataplatform"))
BATCH = Traffic.BATCH


def platform_with_a_source(tmp_path: Path, **settings: str) -> tuple[dict[str, str], str]:
    """The environment of a platform in `tmp_path`, and the write key of an iOS source."""
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    _, key = SourceRegistry(store).create("ios-app", "ios", "mobile-user-analytics")
    store.dispose()
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": database_url,
        **{f"DATAPLATFORM_{name.upper()}": value for name, value in settings.items()},
    }
    return env, key


def test_acknowledged_events_survive_kill_minus_nine_exactly_once(tmp_path: Path) -> None:
    env, key = platform_with_a_source(tmp_path)
    acknowledged: list[str] = []

    first_port = free_port()
    first = start_collector_process(env, first_port)
    with Traffic(f"http://127.0.0.1:{first_port}", key) as traffic:
        traffic.wait_for(40 * BATCH)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    acknowledged += traffic.acknowledged

    second_port = free_port()
    second = start_collector_process(env, second_port)
    try:
        with Traffic(f"http://127.0.0.1:{second_port}", key) as traffic:
            traffic.wait_for(20 * BATCH)
        acknowledged += traffic.acknowledged
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    stored = Counter(Lakehouse(tmp_path / "lake").read(MOBILE)["event_id"].to_pylist())
    assert len(acknowledged) >= 60 * BATCH
    assert [event for event in acknowledged if stored[event] != 1] == []
    assert [event for event, count in stored.items() if count > 1] == []


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLI, "ingest", "run", "--product", "mobile-user-analytics"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_drained(lake_root: Path, expected_at_least: int) -> Counter[str]:
    deadline = time.monotonic() + 120
    while True:
        lake = Lakehouse(lake_root)
        stored = (
            Counter(lake.read(MOBILE)["event_id"].to_pylist()) if lake.exists(MOBILE) else Counter()
        )
        if sum(stored.values()) >= expected_at_least or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


@pytest.mark.redis
def test_ingestion_worker_killed_under_traffic_restarts_exactly_once(
    tmp_path: Path, redis_url: str
) -> None:
    env, key = platform_with_a_source(tmp_path, bus="redis", redis_url=redis_url)
    port = free_port()
    collector = start_collector_process(env, port)
    worker = start_worker(env)
    try:
        with Traffic(f"http://127.0.0.1:{port}", key) as traffic:
            wait_until_drained(tmp_path / "lake", 10 * BATCH)  # the worker is writing
            traffic.wait_for(60 * BATCH)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            traffic.wait_for(len(traffic.acknowledged) + 20 * BATCH)  # traffic flows on meanwhile
            worker = start_worker(env)
            traffic.wait_for(len(traffic.acknowledged) + 20 * BATCH)
        stored = wait_until_drained(tmp_path / "lake", len(traffic.acknowledged))
    finally:
        for process in (worker, collector):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    assert [event for event in traffic.acknowledged if stored[event] != 1] == []
    assert [event for event, count in stored.items() if count > 1] == []
