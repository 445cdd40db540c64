"""`/segments`: list every segment (rule and ML); create, read, change and delete rule segments.

ML segments are listed and read here too, but only training changes them.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.access import Principal, audit_action, serve_rows
from dataplatform.core.errors import ConflictError, NotFoundError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, gold_rows, lake_of
from user_segmentation.rules import compile_named, definition_json, parse_definition
from user_segmentation.serving import _definitions
from user_segmentation.serving._access import PRODUCT, Reader, Writer
from user_segmentation.serving._common import SegmentId, is_rule
from user_segmentation.settings import UserSegmentationSettings

LIST_SQL = """
with segments as (
    select segment_id, 'rule' as kind, name, description, definition, version, created_by,
           created_at, updated_by, updated_at, null::bigint as size
    from d
    where deleted_at is null
    union all
    select segment_id, 'ml', segment_id, null, null, max(model_version), null, null, null, null,
           count(*)
    from a
    group by segment_id
)
select * exclude (position)
from (
    select *, coalesce(try_cast(replace(segment_id, 'ml-', '') as bigint), 0) as position
    from segments
)
where kind = $kind or $kind is null
order by kind desc, created_at, position, segment_id
"""
RULE_SIZES_SQL = """
select segment_id, count(*) as size from m where list_contains($segment_ids, segment_id) group by segment_id
"""
ML_SEGMENT_SQL = """
select segment_id, count(*) as size, max(model_version) as model_version
from a where segment_id = $segment_id group by segment_id
"""
MODEL_SQL = "select centroids from models where version = $version"
# Who would be in a rule segment now: the features' latest rows that meet its filter.
PREVIEW_SQL = """
select count(*) filter (where {condition}) as size, count(*) as people, max(as_of) as as_of
from features
"""


class DefinitionIn(BaseModel):
    """A filter to try before saving it as a segment."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] = Field(description="As a segment's `definition`.")


class SegmentIn(BaseModel):
    """A rule segment: a name, and a filter over the features (see `definition`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] = Field(
        description='A filter: {"all": [...]}, {"any": [...]} or {"feature": "frequency", '
        '"op": ">=", "value": 3}; ops = != < <= > >= in between.',
        examples=[
            {
                "all": [
                    {"feature": "frequency", "op": ">=", "value": 3},
                    {"feature": "last_platform", "op": "=", "value": "mobile"},
                ]
            }
        ],
    )


def segments_router(context: ProductContext[UserSegmentationSettings]) -> APIRouter:
    """The routes at `/segments` itself and `/segments/{segment_id}` (the path `""` takes the
    prefix the gateway gives the product's router)."""
    definitions = context.table("gold.segment_definitions")
    membership = context.table("gold.segment_membership")
    assignments = context.table("gold.ml_assignments")
    ml_models = context.table("gold.ml_models")
    features = context.table("gold.user_features")
    router = APIRouter(tags=[PRODUCT])

    def audit_change(request: Request, caller: Principal, action: str, row: Any) -> None:
        audit_action(
            request,
            caller,
            f"segments.{action}",
            table=definitions,
            rows=1,
            segment_id=row["segment_id"],
            version=row["version"],
        )

    @router.get("", summary="Every segment: rule segments, then ML segments, paged")
    async def list_segments(
        request: Request,
        caller: Reader,
        kind: Annotated[
            Literal["rule", "ml"] | None, Query(description="rule or ml; both when absent.")
        ] = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            LIST_SQL,
            {"d": definitions, "a": assignments},
            {"kind": kind},
            limit=limit,
            cursor=cursor,
        )
        rows = [dict(row) for row in page["rows"]]
        sizes = await _rule_sizes(
            request, caller, membership, [r["segment_id"] for r in rows if r["kind"] == "rule"]
        )
        for row in rows:
            if row["kind"] == "rule":
                row["definition"] = json.loads(row["definition"])
                row["size"] = sizes.get(row["segment_id"], 0)
        return JSONOut({"query": {"kind": kind}, "rows": rows, "next_cursor": page["next_cursor"]})

    @router.post("", status_code=201, summary="Create a rule segment")
    async def create_segment(segment: SegmentIn, request: Request, caller: Writer) -> JSONOut:
        definition = definition_json(parse_definition(segment.definition))
        row = await anyio.to_thread.run_sync(
            _definitions.create,
            lake_of(request),
            context,
            caller.subject,
            segment.name,
            segment.description,
            definition,
        )
        audit_change(request, caller, "create", row)
        # Members come with the next model run.
        return JSONOut(_definitions.as_json(row, size=None), status_code=201)

    @router.post("/preview", summary="How many people a filter keeps now, without saving it")
    async def preview_segment(body: DefinitionIn, request: Request, caller: Reader) -> JSONOut:
        condition, params = compile_named(
            parse_definition(body.definition, field="body.definition")
        )
        rows = await gold_rows(
            request,
            caller,
            PREVIEW_SQL.format(condition=condition),
            {"features": features},
            params,
        )
        found = rows[0] if rows else {"size": 0, "people": 0, "as_of": None}
        return JSONOut(
            {
                "size": int(found["size"] or 0),
                "people": int(found["people"] or 0),
                "as_of": found["as_of"],
            }
        )

    @router.get("/{segment_id}", summary="One segment: its definition or centroid, and its size")
    async def get_segment(segment_id: SegmentId, request: Request, caller: Reader) -> JSONOut:
        if is_rule(segment_id):
            row = await anyio.to_thread.run_sync(
                _definitions.stored, lake_of(request), context, segment_id
            )
            served = serve_rows(request, caller, definitions, [row])[0]
            sizes = await _rule_sizes(request, caller, membership, [segment_id])
            return JSONOut(_definitions.as_json(served, size=sizes.get(segment_id, 0)))
        return JSONOut(await ml_segment(request, caller, segment_id, assignments, ml_models))

    @router.put("/{segment_id}", summary="Change a rule segment's name, description or filter")
    async def change_segment(
        segment_id: SegmentId, segment: SegmentIn, request: Request, caller: Writer
    ) -> JSONOut:
        _refuse_ml(segment_id, "changed")
        definition = definition_json(parse_definition(segment.definition))
        row = await anyio.to_thread.run_sync(
            _definitions.update,
            lake_of(request),
            context,
            segment_id,
            caller.subject,
            segment.name,
            segment.description,
            definition,
        )
        audit_change(request, caller, "update", row)
        return JSONOut(_definitions.as_json(row, size=None))

    @router.delete("/{segment_id}", status_code=204, summary="Delete a rule segment")
    async def delete_segment(segment_id: SegmentId, request: Request, caller: Writer) -> Response:
        _refuse_ml(segment_id, "deleted")
        row = await anyio.to_thread.run_sync(
            _definitions.delete, lake_of(request), context, segment_id, caller.subject
        )
        audit_change(request, caller, "delete", row)
        return Response(status_code=204)

    return router


async def ml_segment(
    request: Request, caller: Principal, segment_id: str, assignments: str, ml_models: str
) -> dict[str, Any]:
    """An ML segment of the latest model (`assignments`, `ml_models`): its size and centroid;
    404 when it has none."""
    rows = await gold_rows(
        request, caller, ML_SEGMENT_SQL, {"a": assignments}, {"segment_id": segment_id}
    )
    if not rows:
        raise NotFoundError(
            f"No ML segment `{segment_id}` in the latest model; GET /segments?kind=ml lists "
            "them (none before the first training: POST /segments/models/train)."
        )
    found = rows[0]
    models = await gold_rows(
        request, caller, MODEL_SQL, {"models": ml_models}, {"version": found["model_version"]}
    )
    centroids = json.loads(models[0]["centroids"]) if models else {}
    return {
        "segment_id": segment_id,
        "kind": "ml",
        "name": segment_id,
        "model_version": found["model_version"],
        "centroid": centroids.get(segment_id),
        "size": found["size"],
    }


async def _rule_sizes(
    request: Request, caller: Principal, membership: str, segment_ids: Sequence[str]
) -> Mapping[str, int]:
    if not segment_ids:
        return {}
    rows = await gold_rows(
        request,
        caller,
        RULE_SIZES_SQL,
        {"m": membership},
        {"segment_ids": list(segment_ids)},
    )
    return {row["segment_id"]: row["size"] for row in rows}


def _refuse_ml(segment_id: str, what: str) -> None:
    if not is_rule(segment_id):
        raise ConflictError(
            f"`{segment_id}` is an ML segment: training makes them (POST "
            f"/segments/models/train); only rule segments are {what} through the API."
        )
