"""Erasure requests that need someone: not `done` (failed, incomplete, or still running) past
the erasure deadline. Degrades the product, and names how many and since when."""

from datetime import UTC, datetime, timedelta

import pyarrow.compute as pc

from compliance_auditing.monitoring._tables import written_rows
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus


def open_erasures(
    context: HealthContext[ComplianceAuditingSettings], now: datetime
) -> tuple[HealthStatus, str]:
    """Degraded when an erasure request is not done past the deadline."""
    rows = written_rows(context, "gold.erasure_requests", ["status", "requested_at"])
    if rows is None:
        return HealthStatus.OK, "no erasure requested yet"
    pending = rows.filter(pc.not_equal(rows["status"], "done"))
    if pending.num_rows == 0:
        return HealthStatus.OK, f"all {rows.num_rows} erasure requests are done"
    deadline = now - timedelta(days=context.settings.erasure_deadline_days)
    overdue = pending.filter(pc.less(pending["requested_at"], deadline))
    detail = f"{pending.num_rows} erasure requests are not done"
    if overdue.num_rows:
        oldest = pc.min(overdue["requested_at"]).as_py()
        return (
            HealthStatus.DEGRADED,
            f"{detail}; {overdue.num_rows} past the deadline, the oldest from {oldest:%Y-%m-%d}",
        )
    return HealthStatus.OK, f"{detail}, none past the deadline"


erasures_overdue = HealthCheck("erasures_overdue", lambda c: open_erasures(c, datetime.now(UTC)))
