"""What compliance-auditing answers: its API router, mounted at `/compliance`.

Lists page with `limit` and a `cursor` that pins the tables' versions; rows go out through
`gold_rows` / `gold_page` (PII masked, reads audited); an erasure writes each of its steps to
the audit log.
"""

from typing import Any

from fastapi import APIRouter

from compliance_auditing.serving import access_report, audit, erasure, lineage, retention
from compliance_auditing.serving._common import PRODUCT
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import published_tables_router


def create_router(context: ProductContext[Any]) -> APIRouter:
    """The product's routes, and its published gold tables (`GET /compliance/tables`, paged);
    no setting shapes them."""
    router = APIRouter(tags=[PRODUCT])
    for module in (audit, access_report, lineage, retention, erasure):
        router.include_router(module.router)
    router.include_router(published_tables_router(PRODUCT, context.declarations))
    return router
