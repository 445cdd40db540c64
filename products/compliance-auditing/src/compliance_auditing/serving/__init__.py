"""What compliance-auditing answers: its API router, mounted at `/compliance`."""

from fastapi import APIRouter


def create_router() -> APIRouter:
    """The product's routes. Its endpoints (`/compliance` (audit trail, lineage, access reports, retention, erasure requests)) come with the product's own issue."""
    return APIRouter(tags=["compliance-auditing"])
