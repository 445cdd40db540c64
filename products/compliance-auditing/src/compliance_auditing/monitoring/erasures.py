"""Erasure requests that need someone: not `done` (failed, incomplete, or still running) past
the erasure deadline. Degrades the product, and names how many and since when."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow.compute as pc

from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus

if TYPE_CHECKING:
    from compliance_auditing.product import ComplianceAuditingSettings  # which imports this package

ERASURES = "compliance_auditing.gold.erasure_requests"


def open_erasures(
    context: "HealthContext[ComplianceAuditingSettings]", now: datetime
) -> tuple[HealthStatus, str]:
    if not context.lake.exists(ERASURES):
        return HealthStatus.OK, "no erasure requested yet"
    rows = context.lake.read(ERASURES, columns=["status", "requested_at"])
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
