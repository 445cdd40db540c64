"""The admin API (`/admin`): users, roles, API keys, sources, product configuration, deployments,
snapshots.
Every change is written to the audit log with who made it."""

from fastapi import APIRouter

from dataplatform.platform.admin._operations import operations_router
from dataplatform.platform.admin._people import people_router
from dataplatform.platform.admin._snapshots import snapshots_router

__all__ = ["admin_routers"]


def admin_routers() -> list[APIRouter]:
    return [people_router(), operations_router(), snapshots_router()]
