"""The audit log: every login, admin change, key creation and data read, hash-chained."""

from dataplatform.platform.audit._chain import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditRow,
    content_hash,
)
from dataplatform.platform.audit._writer import AuditWriter

__all__ = ["GENESIS_HASH", "AuditEntry", "AuditLog", "AuditRow", "AuditWriter", "content_hash"]
