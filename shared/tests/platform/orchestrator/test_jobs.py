"""`dataplatform jobs run`: the audit log reaches the lake and the catalog counts its rows, round
after round, until SIGTERM ends it cleanly, publishing the audit log once more on the way out."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.platform.audit import AUDIT_TABLE, AuditEntry, AuditLog
from dataplatform.platform.catalog import CatalogTableRecord
from dataplatform.platform.orchestrator import PlatformJobs
from dataplatform.platform.orchestrator._jobs import MAX_ROUND_SECONDS
from dataplatform.testing import platform_settings

CLI = str(Path(sys.executable).with_name("dataplatform"))


def test_jobs_publish_the_audit_log_and_refresh_its_statistics(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    log = AuditLog(store)
    log.append([AuditEntry(actor="alice", actor_kind="user", action="auth.login")])
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": database_url,
    }
    jobs = subprocess.Popen(
        [CLI, "jobs", "run", "--every", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    lake = Lakehouse(tmp_path / "lake")

    def published() -> list[str]:
        return (
            sorted(lake.read(AUDIT_TABLE)["actor"].to_pylist()) if lake.exists(AUDIT_TABLE) else []
        )

    def counted() -> int | None:
        with store.session() as session:
            return session.scalar(
                select(CatalogTableRecord.row_count).where(CatalogTableRecord.name == AUDIT_TABLE)
            )

    try:
        _wait(lambda: published() == ["alice"] and counted() == 1, "the first entry published")
        log.append([AuditEntry(actor="bob", actor_kind="user", action="auth.login")])
        _wait(lambda: published() == ["alice", "bob"] and counted() == 2, "the next round")
    finally:
        jobs.send_signal(signal.SIGTERM)
        _, errors = jobs.communicate(timeout=60)

    assert jobs.returncode == 0, errors
    assert "failed" not in errors
    store.dispose()


def _wait(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def test_stopping_publishes_what_was_appended_since_the_last_round(
    sqlite_url: str, lake_root: Path
) -> None:
    store = MetadataStore(sqlite_url)
    store.upgrade()
    lake = Lakehouse(lake_root)
    jobs = PlatformJobs(platform_settings(sqlite_url, lake_root), store, lake)
    jobs.run_once()
    # What the gateway appends while it drains, after the jobs' last round.
    AuditLog(store).append([AuditEntry(actor="carol", actor_kind="user", action="auth.login")])
    stop = threading.Event()
    stop.set()

    jobs.run_until(stop, every_seconds=MAX_ROUND_SECONDS)

    assert lake.read(AUDIT_TABLE)["actor"].to_pylist() == ["carol"]
    assert AuditLog(store).published_head() == AuditLog(store).head()
    store.dispose()


def test_rounds_further_apart_than_a_minute_are_refused(sqlite_url: str, lake_root: Path) -> None:
    store = MetadataStore(sqlite_url)
    store.upgrade()
    jobs = PlatformJobs(platform_settings(sqlite_url, lake_root), store, Lakehouse(lake_root))

    with pytest.raises(TerminalError, match="every 61 s; it must be between 0 and 60 s"):
        jobs.run_until(threading.Event(), every_seconds=61)
    store.dispose()
