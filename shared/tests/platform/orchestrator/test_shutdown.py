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
from dataplatform.testing import MOBILE, Traffic, platform_settings


class Logins:
    """A client logging in until the gateway stops answering; it remembers the request id of each
    login acknowledged with a 200."""

    def __init__(self, url: str, password: str) -> None:
        self.url, self.password = url, password
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._log_in)

    def __enter__(self) -> "Logins":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(timeout=60)

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
                    self.acknowledged.append(request_id)


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

    with Traffic(platform.url, write_key) as events, Logins(platform.url, password) as logins:
        platform.wait_for(
            lambda: (
                len(events.acknowledged) >= 30 * Traffic.BATCH and len(logins.acknowledged) >= 5
            ),
            "events and logins acknowledged",
        )
        exit_code = platform.stop()
    status = platform.status()

    assert exit_code == 0, platform.log_tail()
    stored = Counter(Lakehouse(tmp_path / "lake").read(MOBILE)["event_id"].to_pylist())
    assert [event for event in events.acknowledged if stored[event] != 1] == []
    assert [event for event, count in stored.items() if count > 1] == []
    audited = {row.entry.request_id for row in AuditLog(store).rows(limit=100_000)}
    assert [login for login in logins.acknowledged if login not in audited] == []
    deployments = Deployments(store)
    for name in ["platform", *names]:
        assert [d.status for d in deployments.list(product=name)] == ["stopped", "running"], name
    assert status.returncode == 1
    assert status.stdout.startswith("platform not running: orchestrator stopped")
    store.dispose()
