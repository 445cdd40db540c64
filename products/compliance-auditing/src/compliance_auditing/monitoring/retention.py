"""Whether retention is being enforced: the latest `enforce_retention` run is no older than two
of its intervals, and no table failed in it."""

from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc

from compliance_auditing.monitoring._tables import written_rows
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus


def retention_state(
    context: HealthContext[ComplianceAuditingSettings], now: datetime
) -> tuple[HealthStatus, str]:
    """Degraded when retention last ran more than two intervals ago, or failed on a table."""
    runs = written_rows(context, "gold.retention_runs", ["run_at", "status", "table_name"])
    if runs is None:
        return HealthStatus.OK, "retention has not run yet (it waits for the published catalog)"
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
