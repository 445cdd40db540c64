"""The audit log: every login, admin change, key creation and data read, hash-chained, verified
and published to the lake (`platform.gold.audit_log`, with the lineage in `platform.gold.lineage`).

Its routes (`/admin/audit`) are in `dataplatform.platform.routes`, above the services that hold
this package's log and writer.
"""

from dataplatform.platform.audit._chain import (
    GENESIS_HASH,
    MAX_SEARCH_ROWS,
    AuditEntry,
    AuditFilter,
    AuditLog,
    AuditPage,
    AuditRecord,
    AuditRow,
    content_hash,
    filters_given,
)
from dataplatform.platform.audit._publish import (
    AUDIT_SCHEMA,
    AUDIT_TABLE,
    LINEAGE_SCHEMA,
    LINEAGE_TABLE,
    publish_audit_log,
    publish_lineage,
)
from dataplatform.platform.audit._requests import request_entry
from dataplatform.platform.audit._verify import Finding, ProblemKind, VerifyReport, verify
from dataplatform.platform.audit._writer import AuditWriter

__all__ = [
    "AUDIT_SCHEMA",
    "AUDIT_TABLE",
    "GENESIS_HASH",
    "LINEAGE_SCHEMA",
    "LINEAGE_TABLE",
    "MAX_SEARCH_ROWS",
    "AuditEntry",
    "AuditFilter",
    "AuditLog",
    "AuditPage",
    "AuditRecord",
    "AuditRow",
    "AuditWriter",
    "Finding",
    "ProblemKind",
    "VerifyReport",
    "content_hash",
    "filters_given",
    "publish_audit_log",
    "publish_lineage",
    "request_entry",
    "verify",
]
