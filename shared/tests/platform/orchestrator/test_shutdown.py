"""SIGTERM to `dataplatform up` while events and logins flow: it exits 0, every acknowledged event
is in bronze exactly once, every acknowledged login is in the audit chain, and each product's
deployment is recorded running, then stopped."""

import itertools
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.audit import AuditLog
from dataplatform.platform.auth import Auth, generate_password
from dataplatform.platform.deployments import Deployments
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import MOBILE, platform_settings

BATCH = 20


class Clients:
    """Threads sending event batches and logins until the gateway stops answering; they remember
    what was acknowledged with a 200."""

    def __init__(self, url: str, write_key: str, password: str) -> None:
        self.url, self.write_key, self.password = url, write_key, password
        self.events: list[str] = []
        self.logins: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            *(threading.Thread(target=self._send_events, args=(n,)) for n in range(3)),
            threading.Thread(target=self._log_in),
        ]

    def __enter__(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def acknowledged(self) -> tuple[int, int]:
        with self._lock:
            return len(self.events), len(self.logins)

    def _send_events(self, client: int) -> None:
        with httpx.Client(auth=(self.write_key, ""), timeout=30) as session:
            for batch in itertools.count():
                if self.stop.is_set():
                    return
                ids = [f"client{client}-batch{batch}-{n}" for n in range(BATCH)]
                body = {
                    "batch": [
                        {"type": "track", "event": "tap", "userId": "u1", "messageId": event}
                        for event in ids
                    ]
                }
                try:
                    response = session.post(f"{self.url}/v1/batch", json=body)
                except httpx.TransportError:
                    return  # the gateway has stopped: this batch was not acknowledged
                if response.status_code == 200:
                    with self._lock:
                        self.events.extend(ids)

    def _log_in(self) -> None:
        with httpx.Client(timeout=30) as session:
            for attempt in itertools.count():
                if self.stop.is_set():
                    return
                request_id = f"login-{attempt}"
                try:
                    response = session.post(
                        f"{self.url}/auth/token",
                        data={"username": "operator", "password": self.password},
                        headers={"X-Request-ID": request_id},
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    with self._lock:
                        self.logins.append(request_id)


@pytest.mark.slow
def test_sigterm_under_traffic_loses_no_acknowledged_event_or_audit_entry(
    tmp_path: Path, launch_platform: Any
) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    _, write_key = SourceRegistry(store).create("ios-app", "ios", "mobile-user-analytics")
    names = [product.name for product in discover_products()]
    auth = Auth.create(platform_settings(database_url, tmp_path / "lake"), store, names)
    auth.roles.ensure_builtin()
    password = generate_password()
    auth.users.create("operator", password, ["admin"], "test")
    # The audit buffer is written only when the gateway shuts down, never on a timer.
    platform = launch_platform(
        tmp_path, audit__flush_interval_ms="600000", gateway__anonymous_rate_limit="100000/minute"
    )

    with Clients(platform.url, write_key, password) as clients:
        platform.wait_for(
            lambda: clients.acknowledged()[0] >= 30 * BATCH and clients.acknowledged()[1] >= 5,
            "events and logins acknowledged",
        )
        exit_code = platform.stop()
    status = platform.status()

    assert exit_code == 0, platform.log_tail()
    stored = Counter(Lakehouse(tmp_path / "lake").read(MOBILE)["event_id"].to_pylist())
    assert [event for event in clients.events if stored[event] != 1] == []
    assert [event for event, count in stored.items() if count > 1] == []
    audited = {row.entry.request_id for row in AuditLog(store).rows(limit=100_000)}
    assert [login for login in clients.logins if login not in audited] == []
    deployments = Deployments(store)
    for name in ["platform", *names]:
        assert [d.status for d in deployments.list(product=name)] == ["stopped", "running"], name
    assert status.returncode == 1
    assert status.stdout.startswith("platform not running: orchestrator stopped")
    store.dispose()
