"""What compliance-auditing keeps: the tables no model writes, and how long tables are kept.

The access reports and the current lineage are models over the platform's published audit log
and lineage, described by their headers (description, columns, PII tags). The erasure reports, the access requests and the retention runs
are written by the API and by the `enforce_retention` job, with the schemas below.

Audit-derived records are kept seven years, the usual span for evidence of access to personal
data. Who acted is a person's user name (or an API key, often named after one), which the platform
tags PII in its own audit log; these tables tag it the same way, so the access reports show names
to callers holding `pii:read` and `***` to the others. The one trace of an erased data subject
is the SHA-256 of their id, tagged PII too.
"""

import pyarrow as pa

from dataplatform.core.product import Table

AUDIT_RETENTION_DAYS = 2555  # seven years

ERASURE_REQUESTS = "gold.erasure_requests"
RETENTION_RUNS = "gold.retention_runs"
ACCESS_REQUESTS = "gold.access_requests"

_TIME = pa.timestamp("us", tz="UTC")
ERASURE_REQUESTS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("subject_hash", pa.string(), nullable=False),  # SHA-256 of the id, hex
        pa.field("linked_ids", pa.int64(), nullable=False),
        pa.field("requested_by", pa.string(), nullable=False),
        pa.field("requested_at", _TIME, nullable=False),
        pa.field("status", pa.string(), nullable=False),  # running | done | failed
        pa.field("rows_removed", pa.int64(), nullable=False),
        pa.field("tables", pa.string(), nullable=False),  # JSON: one object per table touched
        pa.field("remaining_traces", pa.int64()),
        pa.field("log_files_naming_subject", pa.int64()),
        pa.field("error", pa.string()),
        pa.field("finished_at", _TIME),
    ]
)
ACCESS_REQUESTS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("subject_hash", pa.string(), nullable=False),  # SHA-256 of the id, hex
        pa.field("linked_ids", pa.int64(), nullable=False),
        pa.field("requested_by", pa.string(), nullable=False),
        pa.field("requested_at", _TIME, nullable=False),
        pa.field("due_by", _TIME, nullable=False),
        pa.field("answered_at", _TIME, nullable=False),
        pa.field("rows", pa.int64(), nullable=False),
        pa.field("tables", pa.string(), nullable=False),  # JSON: table -> rows handed over
    ]
)
RETENTION_RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_at", _TIME, nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("retention_days", pa.int64(), nullable=False),
        pa.field("time_column", pa.string()),
        pa.field("cutoff", _TIME, nullable=False),
        pa.field("status", pa.string(), nullable=False),  # removed | nothing_due | skipped | failed
        pa.field("rows_removed", pa.int64(), nullable=False),
        pa.field("version_before", pa.int64()),
        pa.field("version_after", pa.int64()),
        pa.field("files_vacuumed", pa.int64(), nullable=False),
        pa.field("change_rows_scrubbed", pa.int64(), nullable=False),
        pa.field("reason", pa.string()),
    ]
)

TABLES = (
    Table(
        ERASURE_REQUESTS,
        "Right-to-erasure requests: the subject's id hashed, who asked, status, and per table the "
        "rows removed and the versions before and after.",
        schema=ERASURE_REQUESTS_SCHEMA,
        pii=("subject_hash", "requested_by"),
        retention_days=AUDIT_RETENTION_DAYS,
    ),
    Table(
        ACCESS_REQUESTS,
        "Right-of-access requests (GDPR Art. 15 and 20): the subject's id hashed, who asked, when "
        "the answer was due and given, and the rows handed over per table. The archive itself "
        "is not kept: it went to the requester.",
        schema=ACCESS_REQUESTS_SCHEMA,
        pii=("subject_hash", "requested_by"),
        retention_days=AUDIT_RETENTION_DAYS,
    ),
    Table(
        RETENTION_RUNS,
        "What each enforce_retention run did per table: cutoff, time column, rows removed, "
        "versions, files vacuumed, or why it skipped the table.",
        schema=RETENTION_RUNS_SCHEMA,
        retention_days=AUDIT_RETENTION_DAYS,
    ),
)

# The access reports are audit-derived records too; the current lineage describes tables, not
# accesses, and is rebuilt from the platform's lineage on every run.
MODEL_RETENTION_DAYS = {
    table: AUDIT_RETENTION_DAYS
    for table in (
        "silver.data_reads",
        "silver.key_activity",
        "gold.column_reads",
        "gold.pii_reads",
        "gold.daily_access",
        "gold.access_anomalies",
        "gold.dormant_key_uses",
    )
}
