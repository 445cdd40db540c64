"""`dataplatform audit`, run as a real process the way an operator runs it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit import AuditEntry, AuditLog

CLI = str(Path(sys.executable).with_name("dataplatform"))


def test_verify_search_and_publish_from_the_command_line(tmp_path: Path, lake_root: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(url)
    store.upgrade()
    AuditLog(store).append(
        [AuditEntry(f"user-{number}", "user", "auth.login") for number in range(1, 6)]
    )
    env = {
        **os.environ,
        "DATAPLATFORM_DATABASE_URL": url,
        "DATAPLATFORM_LAKE_ROOT": str(lake_root),
        "COLUMNS": "200",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "audit", *args], env=env, capture_output=True, text=True, timeout=120
        )

    published = run("publish")
    intact = run("verify")
    found = run("search", "--actor", "user-2")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("delete from audit_log where seq = 3")
    broken = run("verify")
    store.dispose()

    assert published.returncode == 0, published.stderr
    assert "published 5 audit rows to platform.gold.audit_log" in published.stdout
    assert "published 0 lineage edges to platform.gold.lineage" in published.stdout
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == (
        "OK audit chain intact: 5 rows verified, head at row 5; "
        "the published copy agrees up to row 5"
    )
    assert found.returncode == 0, found.stderr
    assert "user-2" in found.stdout
    assert "user-1" not in found.stdout
    assert broken.returncode == 1
    assert broken.stderr.startswith("BROKEN at row 3 (deleted): row 3 is missing")


def test_verify_prints_every_finding_when_the_head_and_the_copy_are_gone(
    tmp_path: Path, lake_root: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(url)
    store.upgrade()
    AuditLog(store).append(
        [AuditEntry(f"user-{number}", "user", "auth.login") for number in range(1, 4)]
    )
    env = {**os.environ, "DATAPLATFORM_DATABASE_URL": url, "DATAPLATFORM_LAKE_ROOT": str(lake_root)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "audit", *args], env=env, capture_output=True, text=True, timeout=120
        )

    run("publish")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("delete from audit_chain_head where id = 1")
    shutil.rmtree(lake_root / "platform" / "gold" / "audit_log")
    broken = run("verify")
    refused = run("publish")
    afresh = run("publish", "--afresh")
    store.dispose()

    assert broken.returncode == 1
    lines = broken.stderr.splitlines()
    assert lines[0].startswith("BROKEN (missing_head): the chain's head row")
    assert lines[1].startswith(
        "BROKEN at row 1 (missing_copy): `platform.gold.audit_log` is gone, but the chain was "
        "published to it up to row 3"
    )
    assert lines[2].startswith("2 finding(s); 3 rows checked, head at row 3.")
    assert "Traceback" not in broken.stderr
    assert refused.returncode == 1
    assert "`dataplatform audit publish --afresh`" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert afresh.returncode == 0, afresh.stderr
    assert "published 3 audit rows" in afresh.stdout
