"""Scheduled exports of a table or a saved query, each period once, to a folder or a webhook."""

from dataplatform.platform.exports._records import (
    Export,
    ExportRecord,
    ExportRun,
    ExportRunRecord,
    Exports,
)
from dataplatform.platform.exports._run import period_start_of, run_due_exports

__all__ = [
    "Export",
    "ExportRecord",
    "ExportRun",
    "ExportRunRecord",
    "Exports",
    "period_start_of",
    "run_due_exports",
]
