"""The verifiable report of an erasure, kept in the product's `gold.erasure_requests`."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa

from compliance_auditing.storage import ERASURE_REQUESTS_SCHEMA
from dataplatform.core.connectors.lakehouse import Lakehouse

Status = Literal["running", "done", "incomplete", "failed"]


@dataclass
class TableReport:
    """What the erasure did to one table, and what it found left afterwards."""

    table: str
    identity_columns: list[str]
    rows_found: int
    files_found: int  # data and change-data files naming the person, of any version
    rows_removed: int = 0
    version_before: int | None = None
    version_after: int | None = None
    files_vacuumed: int = 0
    change_files_scrubbed: int = 0
    change_rows_scrubbed: int = 0
    log_files_scrubbed: int = 0
    rows_left: int | None = None
    files_naming_subject: int | None = None
    log_files_naming_subject: int | None = None


@dataclass
class ErasureReport:
    request_id: str
    subject_hash: str
    requested_by: str
    requested_at: datetime
    status: Status = "running"
    linked_ids: int = 0
    tables: list[TableReport] = field(default_factory=list)
    error: str | None = None
    finished_at: datetime | None = None
    checked: bool = False  # whether what is left has been looked for (not stored)

    @property
    def rows_removed(self) -> int:
        return sum(t.rows_removed for t in self.tables)

    @property
    def remaining_traces(self) -> int | None:
        """Rows and data files still naming the subject (the log aside); None until checked."""
        if not self.checked:
            return None
        return sum((t.rows_left or 0) + (t.files_naming_subject or 0) for t in self.tables)

    @property
    def log_files_naming_subject(self) -> int | None:
        if not self.checked:
            return None
        return sum(t.log_files_naming_subject or 0 for t in self.tables)

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "subject_hash": self.subject_hash,
            "linked_ids": self.linked_ids,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "status": self.status,
            "rows_removed": self.rows_removed,
            "tables": orjson.dumps([asdict(t) for t in self.tables]).decode(),
            "remaining_traces": self.remaining_traces,
            "log_files_naming_subject": self.log_files_naming_subject,
            "error": self.error,
            "finished_at": self.finished_at,
        }


def save(lake: Lakehouse, table: str, report: ErasureReport) -> None:
    """Write the report to `table` (the product's erasure requests), replacing the request's
    earlier state."""
    if not lake.exists(table):
        lake.create(table, ERASURE_REQUESTS_SCHEMA)
    rows = pa.Table.from_pylist([report.row()], ERASURE_REQUESTS_SCHEMA)
    lake.merge(table, rows, ["request_id"])


def as_answer(row: dict[str, Any]) -> dict[str, Any]:
    """A stored report as the API shows it (its tables as objects)."""
    return {**row, "tables": orjson.loads(row["tables"]) if row.get("tables") else []}
