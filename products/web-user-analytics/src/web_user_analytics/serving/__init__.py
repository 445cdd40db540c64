"""What web-user-analytics answers: its API router, mounted at `/web`."""

from fastapi import APIRouter


def create_router() -> APIRouter:
    """The product's routes. Its endpoints (`GET /web/overview`, `/web/sessions`, `/web/pages/top`, `/web/sources`, `/web/devices`, `/web/funnels`, `/web/users/{user_id}/sessions`, `/web/realtime`) come with the product's own issue."""
    return APIRouter(tags=["web-user-analytics"])
