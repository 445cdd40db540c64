"""What compliance-auditing answers: its API router, mounted at `/compliance`.

Lists page with `limit` and a `cursor` that pins the tables' versions; rows go out through
`gold_rows` / `gold_page` (PII masked, reads audited); an erasure writes each of its steps to
the audit log.
"""

from fastapi import APIRouter

from compliance_auditing.serving._access import PRODUCT
from compliance_auditing.serving.access_report import access_report_router
from compliance_auditing.serving.access_requests import access_requests_router
from compliance_auditing.serving.audit import audit_router
from compliance_auditing.serving.erasure import erasure_router
from compliance_auditing.serving.lineage import lineage_router
from compliance_auditing.serving.retention import retention_router
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router


def create_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """The product's routes, and its published gold tables (`GET /compliance/tables`, paged)."""
    router = APIRouter(tags=[PRODUCT])
    for area_router in (
        audit_router,
        access_report_router,
        lineage_router,
        retention_router,
        erasure_router,
        access_requests_router,
    ):
        router.include_router(area_router(context))
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
