"""How far the access reports are behind the published audit log: since when the oldest commit
of `platform.gold.audit_log` that `silver.data_reads` has not taken in has been waiting. Judged
against the product's freshness objective (`audit_freshness`); late degrades, never fails, since
the API still answers."""

import json
from datetime import UTC, datetime

from compliance_auditing.audit_chain import AUDIT_LOG
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus

INPUTS = "dataplatform.inputs"  # what each model commit records: input -> [from, to] versions


def audit_intake(
    context: HealthContext[ComplianceAuditingSettings], now: datetime
) -> tuple[HealthStatus, str]:
    lake = context.lake
    data_reads = context.table("silver.data_reads")
    if not lake.exists(AUDIT_LOG):
        return HealthStatus.OK, "the platform has not published its audit log yet"
    taken = -1
    if lake.exists(data_reads):
        recorded = lake.history(data_reads, limit=1)[0].get(INPUTS)
        taken = int(json.loads(recorded).get(AUDIT_LOG, [-1, -1])[1]) if recorded else -1
    behind = lake.version(AUDIT_LOG) - taken
    if behind <= 0:
        return HealthStatus.OK, "the access reports have taken in the whole audit log"
    oldest = lake.history(AUDIT_LOG, limit=behind)[-1]
    seconds = (now - datetime.fromtimestamp(oldest["timestamp"] / 1000, UTC)).total_seconds()
    objective = min(
        (s.threshold for s in context.settings.slos if s.name == "audit_freshness"), default=None
    )
    detail = f"the access reports are {seconds:.0f} s behind the audit log"
    if objective is None:
        return HealthStatus.OK, detail
    late = seconds > objective
    return (
        HealthStatus.DEGRADED if late else HealthStatus.OK
    ), f"{detail} (objective {objective:.0f} s)"


audit_log_intake = HealthCheck("audit_log_intake", lambda c: audit_intake(c, datetime.now(UTC)))
