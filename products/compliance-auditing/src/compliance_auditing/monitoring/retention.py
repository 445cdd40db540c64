"""Whether retention is being enforced: the latest `enforce_retention` run is no older than two
of its intervals, and no table failed in it."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus

if TYPE_CHECKING:
    from compliance_auditing.product import ComplianceAuditingSettings  # which imports this package

RETENTION_RUNS = "compliance_auditing.gold.retention_runs"


def retention_state(
    context: "HealthContext[ComplianceAuditingSettings]", now: datetime
) -> tuple[HealthStatus, str]:
    if not context.lake.exists(RETENTION_RUNS):
        return HealthStatus.OK, "retention has not run yet (it waits for the published catalog)"
    runs = context.lake.read(RETENTION_RUNS, columns=["run_at", "status", "table_name"])
    if runs.num_rows == 0:
        return HealthStatus.OK, "retention has not run yet"
    latest = pc.max(runs["run_at"]).as_py()
    last_run = runs.filter(pc.equal(runs["run_at"], latest))
    failed = last_run.filter(pc.equal(last_run["status"], "failed"))["table_name"].to_pylist()
    due = timedelta(seconds=2 * context.settings.retention_every_seconds)
    if now - latest > due:
        return HealthStatus.DEGRADED, f"the last retention run was at {latest:%Y-%m-%d %H:%M} UTC"
    if failed:
        return (
            HealthStatus.DEGRADED,
            f"the last retention run failed on {', '.join(sorted(failed))}",
        )
    return HealthStatus.OK, f"the last retention run, at {latest:%Y-%m-%d %H:%M} UTC, went through"


retention_enforced = HealthCheck(
    "retention_enforced", lambda c: retention_state(c, datetime.now(UTC))
)
