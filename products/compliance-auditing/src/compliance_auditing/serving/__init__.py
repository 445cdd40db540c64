"""What compliance-auditing answers: its API router, mounted at `/compliance`."""

from fastapi import APIRouter

from compliance_auditing.storage import TABLES
from dataplatform.core.serving import published_tables_router


def create_router() -> APIRouter:
    """The product's routes: today its published gold tables (`GET /compliance/tables`, paged).
    Its own endpoints (`/compliance` (audit trail, lineage, access reports, retention, erasure requests)) come with the product's own issue."""
    router = APIRouter(tags=["compliance-auditing"])
    router.include_router(published_tables_router("compliance-auditing", TABLES))
    return router
