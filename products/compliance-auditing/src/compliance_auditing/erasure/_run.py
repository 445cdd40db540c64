"""One erasure, step by step, each step written to the audit log (`compliance.erasure.find`,
`.delete`, `.vacuum`, `.done`) and the report kept in `gold.erasure_requests`.

It runs inside the request (the lakes here are small), its file work in worker threads. First
the person's ids go on the suppression list (as hashes, in the metadata store): from then on
every commit to the lake, by a model, a job or a retraining, leaves their rows out. A commit
already past that check when the ids were listed can still land just after a delete, so the
rows are looked for once more after the purge, and a second pass removes what came back;
whatever is still there after that is reported, and the request ends `incomplete`, not `done`.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
from fastapi import Request

from compliance_auditing.catalog import read_catalog
from compliance_auditing.erasure._identity import PersonColumns
from compliance_auditing.erasure._report import ErasureReport, TableReport, save
from compliance_auditing.erasure._subject import Subject, find_subject, subject_hash
from compliance_auditing.erasure._tables import (
    Holding,
    current_rows,
    delete_rows,
    find_holdings,
    purge_files,
    traces,
)
from dataplatform.core.access import Principal, audit_action
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.governance import guard_of
from dataplatform.core.serving import snapshots_of

logger = logging.getLogger(__name__)
PASSES = 2
T = TypeVar("T")


async def erase(
    request: Request, caller: Principal, lake: Lakehouse, user_id: str, reports: str
) -> ErasureReport:
    """Erase `user_id` and every id linked to it from every product's tables; the report, also
    kept in `reports` (the product's erasure requests table)."""
    report = ErasureReport(
        request_id=uuid.uuid4().hex,
        subject_hash=subject_hash(user_id),
        requested_by=caller.subject,
        requested_at=datetime.now(UTC),
    )
    await _in_thread(save, lake, reports, report)
    subject = Subject(user_id, ())
    try:
        subject = await _in_thread(find_subject, lake, user_id)
        report.linked_ids = len(subject.linked)
        listed = await _in_thread(guard_of(lake).suppress, subject.ids, report.request_id)
        catalog = await _in_thread(read_catalog, lake)
        holdings = await _in_thread(find_holdings, lake, subject, catalog)
        audit_action(
            request,
            caller,
            "compliance.erasure.find",
            request_id=report.request_id,
            subject_hash=report.subject_hash,
            linked_ids=len(subject.linked),
            ids_suppressed=listed,
            tables=[h.table for h in holdings],
        )
        report.tables = [
            TableReport(h.table, list(h.columns.all), h.rows, h.files) for h in holdings
        ]
        columns = {h.table: h.columns for h in holdings}
        for attempt in range(PASSES):
            await _remove(request, caller, lake, subject, report, holdings, first=attempt == 0)
            holdings = [h for h in holdings if await _in_thread(_rows_now, lake, h, subject)]
            if not holdings:
                break
        await _check(lake, subject, report, columns)
        report.status = "done" if report.remaining_traces == 0 else "incomplete"
    except Exception as exc:  # reported, audited and answered; the stack trace goes to the log
        logger.exception("erasure %s failed", report.request_id)
        report.status = "failed"
        report.error = _without_ids(f"{type(exc).__name__}: {exc}", subject)
    report.finished_at = datetime.now(UTC)
    await _in_thread(save, lake, reports, report)
    audit_action(
        request,
        caller,
        "compliance.erasure.done",
        rows=report.rows_removed,
        request_id=report.request_id,
        status=report.status,
        remaining_traces=report.remaining_traces,
        log_files_naming_subject=report.log_files_naming_subject,
    )
    return report


async def _remove(
    request: Request,
    caller: Principal,
    lake: Lakehouse,
    subject: Subject,
    report: ErasureReport,
    holdings: list[Holding],
    *,
    first: bool,
) -> None:
    by_table = {t.table: t for t in report.tables}
    for holding in holdings:
        table = by_table[holding.table]
        before = await _in_thread(lake.version, holding.table)
        removed, after = await _in_thread(delete_rows, lake, holding.columns, subject)
        if first:
            table.version_before = before
        table.rows_removed += removed
        audit_action(
            request,
            caller,
            "compliance.erasure.delete",
            table=holding.table,
            rows=removed,
            request_id=report.request_id,
            version_before=before,
            version_after=after,
        )
    for holding in holdings:
        table = by_table[holding.table]
        purged = await _in_thread(purge_files, lake, holding.columns, subject)
        table.files_vacuumed += purged.files_vacuumed
        table.change_files_scrubbed += purged.change_files_scrubbed
        table.change_rows_scrubbed += purged.change_rows_scrubbed
        table.log_files_scrubbed += purged.log_files_scrubbed
        table.version_after = await _in_thread(lake.version, holding.table)
        # The API's snapshot cache may hold the person's rows of an older version.
        snapshots_of(request).drop(holding.table)
        audit_action(
            request,
            caller,
            "compliance.erasure.vacuum",
            table=holding.table,
            request_id=report.request_id,
            files_vacuumed=purged.files_vacuumed,
            change_files_scrubbed=purged.change_files_scrubbed,
            change_rows_scrubbed=purged.change_rows_scrubbed,
            log_files_scrubbed=purged.log_files_scrubbed,
            version_after=table.version_after,
        )


async def _check(
    lake: Lakehouse, subject: Subject, report: ErasureReport, columns: dict[str, PersonColumns]
) -> None:
    for table in report.tables:
        left = await _in_thread(traces, lake, columns[table.table], subject)
        table.rows_left, table.files_naming_subject = left.rows, left.files
        table.log_files_naming_subject = left.log_files
    report.checked = True


def _rows_now(lake: Lakehouse, holding: Holding, subject: Subject) -> int:
    return current_rows(lake, holding.columns, subject)


def _without_ids(message: str, subject: Subject) -> str:
    """An error message fit to keep: the person's ids replaced (a failing step may quote them)."""
    for value in sorted(subject.ids, key=len, reverse=True):
        message = message.replace(value, "<erased id>")
    return message


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(function, *args)
