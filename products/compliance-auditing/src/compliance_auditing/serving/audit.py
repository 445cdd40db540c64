"""`/compliance/audit`: search the published audit trail; `/compliance/audit/verify`: check its
hash chain. Both read `platform.gold.audit_log` itself, the evidence, rather than a copy of it."""

from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Query, Request

from compliance_auditing.audit_chain import AUDIT_LOG, verify_chain
from compliance_auditing.serving._access import Auditor
from compliance_auditing.serving._common import Actor, TableFilter, filtered
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.access import audit_action
from dataplatform.core.bounds import ReportTime, as_utc
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, snapshots_of

COLUMNS = (
    "seq, recorded_at, actor, actor_kind, action, outcome, method, route, status, table_name, "
    "row_count, pii, request_id, detail, prev_hash, hash"
)
Action = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$",
        max_length=100,
        description="An action, or a prefix of actions: `admin` matches `admin.users.create`.",
    ),
]
Since = Annotated[ReportTime | None, Query(description="From this time (ISO 8601), included.")]
Until = Annotated[ReportTime | None, Query(description="Until this time (ISO 8601), excluded.")]


def audit_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """`GET /audit` and `/audit/verify`, over the platform's published audit log (not one of
    the product's tables, so `context` names none of them)."""
    router = APIRouter()
    tables = {"audit": AUDIT_LOG}

    @router.get(
        "/audit", summary="Search the audit trail by actor, action, table, outcome and time"
    )
    async def search_audit(
        request: Request,
        caller: Auditor,
        actor: Actor = None,
        action: Action = None,
        table: TableFilter = None,
        outcome: Literal["success", "failure"] | None = None,
        since: Since = None,
        until: Until = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        since = as_utc(since) if since is not None else None
        until = as_utc(until) if until is not None else None
        _check_order(since, until)
        sql, params = filtered(
            f"select {COLUMNS} from audit",
            [
                ("actor", "actor = $actor", actor),
                ("action", "(action = $action or starts_with(action, $action || '.'))", action),
                ("table", "table_name = $table", table),
                ("outcome", "outcome = $outcome", outcome),
                ("since", "recorded_at >= $since", since),
                ("until", "recorded_at < $until", until),
            ],
            "order by seq desc",
        )
        page = await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
        return JSONOut({**page, "rows": [_readable(row) for row in page["rows"]]})

    @router.get("/audit/verify", summary="Check the published audit chain: hashes, links, no gaps")
    async def verify_audit(request: Request, caller: Auditor) -> JSONOut:
        version, rows = await snapshots_of(request).latest_async(AUDIT_LOG)
        ordered = [] if rows is None else rows.sort_by("seq").to_pylist()
        report = await anyio.to_thread.run_sync(verify_chain, ordered)
        audit_action(
            request,
            caller,
            "compliance.audit.verify",
            table=AUDIT_LOG,
            rows=report.rows_checked,
            ok=report.ok,
            first_bad_seq=report.first_bad_seq,
            problem=report.problem,
            version=version,
        )
        return JSONOut({"table": AUDIT_LOG, "version": version, **report.as_json()})

    return router


def _check_order(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidRequestError(
            f"`until` ({until.isoformat()}) must be after `since` ({since.isoformat()}).",
            field="query.until",
        )


def _readable(row: Any) -> dict[str, Any]:
    """A row with its detail as an object (a masked or damaged detail is shown as it is)."""
    try:
        detail = orjson.loads(row["detail"])
    except (orjson.JSONDecodeError, TypeError):
        return dict(row)
    return {**row, "detail": detail}
