"""`/admin/audit`: search the audit log and verify its chain (permission `audit:read`).

Reading the audit log is itself recorded (`audit.read`, `audit.verify`): who looked at whose
activity is what an auditor of the auditors asks.
"""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dataplatform.core.access import AUDIT_READ, Principal, require
from dataplatform.core.bounds import ReportTime, RowId, Within
from dataplatform.core.serving import JSONOut
from dataplatform.platform.audit import (
    MAX_SEARCH_ROWS,
    AuditFilter,
    AuditRow,
    filters_given,
    verify,
)
from dataplatform.platform.services import Services, services


def audit_router() -> APIRouter:
    """`/admin/audit`: search the log and verify its chain."""
    router = APIRouter(prefix="/admin/audit", tags=["audit"])
    can_read = require(AUDIT_READ)

    @router.get("", summary="Search the audit log, newest first, paged with `before`")
    def search(
        request: Request,
        caller: Annotated[Principal, can_read],
        platform: Annotated[Services, Depends(services)],
        actor: str | None = None,
        action: Annotated[
            str | None, Query(description="`admin` matches `admin` and every `admin.*` action.")
        ] = None,
        table: Annotated[str | None, Query(description="Reads of this table.")] = None,
        outcome: Annotated[str | None, Query(description="`success` or `failure`.")] = None,
        since: Annotated[
            ReportTime | None, Query(description="From this time (UTC if no zone).")
        ] = None,
        until: Annotated[ReportTime | None, Query(description="Before this time.")] = None,
        limit: Annotated[
            int, Within(1, MAX_SEARCH_ROWS), Query(description=f"At most {MAX_SEARCH_ROWS}.")
        ] = 100,
        before: Annotated[
            RowId | None,
            Query(description="Entries before this seq: the last page's `next_before`."),
        ] = None,
    ) -> JSONOut:
        filters = AuditFilter(
            actor=actor,
            action=action,
            table=table,
            outcome=outcome,
            since=since,
            until=until,
            before=before,
        )
        page = platform.audit_log.search(limit=limit, **filters)
        detail = filters_given(filters)
        platform.record(request, caller, "audit.read", rows=len(page.rows), detail=detail)
        return JSONOut(
            {"entries": [_entry_json(row) for row in page.rows], "next_before": page.next_before}
        )

    @router.get(
        "/verify",
        summary="Check the hash chain and its published copy: `ok`, or every finding",
    )
    def check(
        request: Request,
        caller: Annotated[Principal, can_read],
        platform: Annotated[Services, Depends(services)],
    ) -> JSONOut:
        report = verify(platform.store, platform.lake)
        detail = {
            "ok": report.ok,
            "first_bad_seq": report.first_bad_seq,
            "findings": len(report.findings),
        }
        platform.record(request, caller, "audit.verify", rows=report.rows_checked, detail=detail)
        return JSONOut(asdict(report))

    return router


def _entry_json(row: AuditRow) -> dict[str, Any]:
    return {"seq": row.seq, **asdict(row.entry), "prev_hash": row.prev_hash, "hash": row.hash}
