"""How compliance-auditing knows it is well: its health checks, which /ready shows.

Besides the platform's own (the lake is writable, the tables readable): how far the access
reports are behind the audit log, erasure requests left undone past their deadline, and whether
retention runs on time. All degrade rather than fail: the API still answers.
"""

from compliance_auditing.monitoring.erasures import erasures_overdue
from compliance_auditing.monitoring.intake import audit_log_intake
from compliance_auditing.monitoring.retention import retention_enforced
from dataplatform.core.monitoring import lake_writable, tables_readable

HEALTH_CHECKS = (
    lake_writable,
    tables_readable,
    audit_log_intake,
    erasures_overdue,
    retention_enforced,
)
