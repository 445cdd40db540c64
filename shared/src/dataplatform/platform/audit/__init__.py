"""The audit log: every login, admin change, key creation and data read, hash-chained, verified
and published to the lake (`platform.gold.audit_log`, with the lineage in `platform.gold.lineage`).

Its routes live in `dataplatform.platform.audit._routes` (`audit_router`), which the gateway
mounts; they need the gateway's services, which need this package, so they are not imported here.
"""

from dataplatform.platform.audit._chain import (
    GENESIS_HASH,
    MAX_SEARCH_ROWS,
    AuditEntry,
    AuditLog,
    AuditPage,
    AuditRow,
    content_hash,
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
    "AuditLog",
    "AuditPage",
    "AuditRow",
    "AuditWriter",
    "Finding",
    "ProblemKind",
    "VerifyReport",
    "content_hash",
    "publish_audit_log",
    "publish_lineage",
    "request_entry",
    "verify",
]
