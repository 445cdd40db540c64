"""What mobile-user-analytics answers: its API router, mounted at `/mobile`."""

from fastapi import APIRouter


def create_router() -> APIRouter:
    """The product's routes. Its endpoints (`GET /mobile/users/{user_id}/summary`, `/mobile/activity`, `/mobile/active-users`, `/mobile/retention`, `/mobile/crashes`, `/mobile/versions`) come with the product's own issue."""
    return APIRouter(tags=["mobile-user-analytics"])
