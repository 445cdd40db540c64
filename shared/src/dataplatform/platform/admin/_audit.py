"""Every admin change goes to the audit log, with who made it; never a secret in the detail."""

from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal, route_template
from dataplatform.platform.audit import AuditEntry
from dataplatform.platform.gateway._services import Services


def audited(
    platform: Services, request: Request, caller: Principal, action: str, **detail: Any
) -> None:
    """Record that `caller` did `action` through this request."""
    platform.audit.record(
        AuditEntry(
            actor=caller.subject,
            actor_kind=caller.kind,
            action=action,
            method=request.method,
            route=route_template(request.scope),
            status=200,
            request_id=getattr(request.state, "request_id", None),
            detail=detail,
        )
    )
