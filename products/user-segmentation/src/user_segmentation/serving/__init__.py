"""What user-segmentation answers: its API router, mounted at `/segments`."""

from fastapi import APIRouter


def create_router() -> APIRouter:
    """The product's routes. Its endpoints (`/segments` (list, create, members, per-user membership)) come with the product's own issue."""
    return APIRouter(tags=["user-segmentation"])
