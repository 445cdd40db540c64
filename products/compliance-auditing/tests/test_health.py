"""The product's health checks on hand-made lakes, at chosen times."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from compliance_auditing.monitoring.erasures import open_erasures
from compliance_auditing.monitoring.intake import audit_intake
from compliance_auditing.monitoring.retention import retention_state
from compliance_auditing.product import product
from compliance_auditing.storage import ERASURE_REQUESTS_SCHEMA, RETENTION_RUNS_SCHEMA
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.monitoring import HealthContext, HealthStatus
from dataplatform.platform.audit import AUDIT_TABLE

ERASURE_TABLE = product.context().table("gold.erasure_requests")
RETENTION_TABLE = product.context().table("gold.retention_runs")

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def context(lake: Lakehouse) -> HealthContext:
    return HealthContext.extending(product.context(), lake=lake)


def test_an_empty_lake_is_healthy(lake: Lakehouse) -> None:
    for check in (audit_intake, open_erasures, retention_state):
        assert check(context(lake), NOW)[0] is HealthStatus.OK


def test_reports_behind_the_audit_log_degrade_past_the_objective(
    lake: Lakehouse, tmp_path: Path, kit: Any
) -> None:
    chain = kit.Chain.of([kit.read("ana", NOW.date(), "t.gold.a", ["a"], 1, ["viewer"])])
    kit.publish(lake, chain.rows)
    published = datetime.fromtimestamp(lake.history(AUDIT_TABLE, 1)[0]["timestamp"] / 1000, UTC)

    # audit_freshness: 300 s.
    assert audit_intake(context(lake), published + timedelta(seconds=299))[0] is HealthStatus.OK
    late = audit_intake(context(lake), published + timedelta(seconds=301))
    assert late[0] is HealthStatus.DEGRADED
    assert "301 s behind the audit log (objective 300 s)" in late[1]

    kit.Models(lake, tmp_path).run()
    caught_up = audit_intake(context(lake), published + timedelta(hours=1))
    assert caught_up == (HealthStatus.OK, "the access reports have taken in the whole audit log")


def erasure(request_id: str, status: str, age_days: int) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "subject_hash": "0" * 64,
        "linked_ids": 0,
        "requested_by": "gus",
        "requested_at": NOW - timedelta(days=age_days),
        "status": status,
        "rows_removed": 0,
        "tables": "[]",
    }


def test_an_erasure_left_undone_past_the_deadline_degrades(lake: Lakehouse) -> None:
    lake.append(
        ERASURE_TABLE,
        pa.Table.from_pylist(
            [erasure("a" * 32, "done", 40), erasure("b" * 32, "failed", 2)], ERASURE_REQUESTS_SCHEMA
        ),
    )
    assert open_erasures(context(lake), NOW) == (
        HealthStatus.OK,
        "1 erasure requests are not done, none past the deadline",
    )

    lake.append(
        ERASURE_TABLE,
        pa.Table.from_pylist([erasure("c" * 32, "incomplete", 31)], ERASURE_REQUESTS_SCHEMA),
    )
    status, detail = open_erasures(context(lake), NOW)
    assert status is HealthStatus.DEGRADED
    assert "1 past the deadline, the oldest from 2026-10-20" in detail


def retention_run(age: timedelta, table: str, status: str) -> dict[str, Any]:
    return {
        "run_id": f"run-{age}",
        "run_at": NOW - age,
        "table_name": table,
        "retention_days": 30,
        "cutoff": NOW - age - timedelta(days=30),
        "status": status,
        "rows_removed": 0,
        "files_vacuumed": 0,
        "change_rows_scrubbed": 0,
    }


def test_retention_that_stopped_or_failed_degrades(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAPLATFORM_COMPLIANCE_AUDITING_RETENTION_EVERY_SECONDS", "3600")

    def runs(*rows: dict[str, Any]) -> None:
        lake.append(RETENTION_TABLE, pa.Table.from_pylist(list(rows), RETENTION_RUNS_SCHEMA))

    runs(retention_run(timedelta(hours=3), "m.bronze.a", "removed"))
    # Every hour, so a run is due within two hours.
    assert retention_state(context(lake), NOW)[0] is HealthStatus.DEGRADED

    runs(
        retention_run(timedelta(minutes=30), "m.bronze.a", "removed"),
        retention_run(timedelta(minutes=30), "m.silver.b", "failed"),
    )
    assert retention_state(context(lake), NOW) == (
        HealthStatus.DEGRADED,
        "the last retention run failed on m.silver.b",
    )

    runs(retention_run(timedelta(minutes=10), "m.bronze.a", "nothing_due"))
    assert retention_state(context(lake), NOW)[0] is HealthStatus.OK
