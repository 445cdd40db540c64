"""`/admin/snapshots`: record the version of every table under a label, list them, restore one."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.access import ADMIN, Principal, require
from dataplatform.core.connectors.lakehouse import Snapshot, Snapshots
from dataplatform.core.serving import JSONOut
from dataplatform.platform.services import Services, services

Platform = Annotated[Services, Depends(services)]
Admin = Annotated[Principal, require(ADMIN)]


class NewSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def snapshots_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/snapshots", summary="The lake's snapshots, newest first")
    def list_snapshots(_: Admin, platform: Platform) -> JSONOut:
        found = Snapshots(platform.lake, platform.store).list()
        return JSONOut({"snapshots": [_snapshot(s) for s in reversed(found)]})

    @router.post("/snapshots", status_code=201, summary="Record every table's version now")
    def create_snapshot(
        body: NewSnapshot, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        snapshot = Snapshots(platform.lake, platform.store).create(body.label)
        platform.record(request, caller, "admin.snapshots.create", detail={"label": body.label})
        return JSONOut(_snapshot(snapshot), status_code=201)

    @router.post(
        "/snapshots/{label}/restore",
        summary="Bring every table the snapshot recorded back to its version",
    )
    def restore_snapshot(
        label: str, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        result = Snapshots(platform.lake, platform.store).restore(label)
        platform.record(
            request,
            caller,
            "admin.snapshots.restore",
            detail={"label": label, "restored": sorted(result.restored)},
        )
        return JSONOut({"label": label, **asdict(result)})

    return router


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "label": snapshot.label,
        "created_at": snapshot.created_at,
        "tables": len(snapshot.versions),
    }
