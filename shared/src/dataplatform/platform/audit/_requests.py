"""The audit entry of something done through an HTTP request: who, which route, which request."""

from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal, route_template
from dataplatform.platform.audit._chain import AuditEntry


def request_entry(
    request: Request,
    caller: Principal,
    action: str,
    *,
    status: int = 200,
    outcome: str = "success",
    table: str | None = None,
    rows: int | None = None,
    pii: bool = False,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """`caller` did `action` through `request` (its method, route template and request id)."""
    return AuditEntry(
        actor=caller.subject,
        actor_kind=caller.kind,
        action=action,
        outcome=outcome,
        method=request.method,
        route=route_template(request.scope),
        status=status,
        table_name=table,
        row_count=rows,
        pii=pii,
        request_id=getattr(request.state, "request_id", None),
        detail=detail or {},
    )
