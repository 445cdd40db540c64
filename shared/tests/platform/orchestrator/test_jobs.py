"""`dataplatform jobs run`: the audit log reaches the lake and the catalog counts its rows, round
after round, until SIGTERM ends it cleanly."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import AUDIT_TABLE, AuditEntry, AuditLog
from dataplatform.platform.catalog import CatalogTableRecord

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
