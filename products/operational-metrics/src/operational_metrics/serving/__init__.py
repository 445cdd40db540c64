"""What operational-metrics answers: its API router, mounted at `/ops`."""

from fastapi import APIRouter


def create_router() -> APIRouter:
    """The product's routes. Its endpoints (`/ops` (volumes, lag, freshness, errors, latency, SLOs, dashboard)) come with the product's own issue."""
    return APIRouter(tags=["operational-metrics"])
