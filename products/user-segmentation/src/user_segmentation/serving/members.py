"""`/segments/{segment_id}/users` (its people, paged) and `/segments/{segment_id}/profile` (its
size, a summary of its people's features, and its size over time)."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request

from dataplatform.core.access import Principal
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, gold_rows, lake_of
from user_segmentation.features import NUMERIC_FEATURES
from user_segmentation.serving import _definitions
from user_segmentation.serving._access import PRODUCT, Reader
from user_segmentation.serving._common import SegmentId, is_rule
from user_segmentation.serving.segments import ml_segment
from user_segmentation.settings import UserSegmentationSettings

RULE_MEMBERS_SQL = """
select person_id, entered_at, entered_as_of, definition_version
from m where segment_id = $segment_id
order by entered_at, person_id
"""
ML_MEMBERS_SQL = """
select person_id, model_version from m where segment_id = $segment_id order by person_id
"""
# One row per numeric feature over the segment's people (`m`: membership or ML assignments).
SUMMARY_SQL = (
    "with people as (select f.* from f join m using (person_id) where m.segment_id = $segment_id)\n"
    + "\nunion all\n".join(
        f"select '{name}' as feature, {position} as position, count(\"{name}\") as people, "
        f'min("{name}")::double as min, avg("{name}") as mean, '
        f'median("{name}")::double as median, max("{name}")::double as max from people'
        for position, name in enumerate(NUMERIC_FEATURES)
    )
    + "\norder by position"
)
PLATFORMS_SQL = """
select f.last_platform, count(*) as people
from f join m using (person_id)
where m.segment_id = $segment_id
group by f.last_platform
order by f.last_platform
"""
# Entries and exits per UTC day; the size after each day counts every day before the window too.
# Today is the process's, not DuckDB's, so that one clock (which tests can freeze) decides it.
RULE_TREND_SQL = """
with days as (
    select
        (changed_at at time zone 'UTC')::date as day,
        count(*) filter (where change = 'enter') as entered,
        count(*) filter (where change = 'exit') as exited
    from c
    where segment_id = $segment_id
    group by day
)
select * from (
    select day, entered, exited, sum(entered - exited) over (order by day) as size from days
)
where day > $today::date - $days::integer
order by day
"""
ML_TREND_SQL = "select version, trained_at, sizes from models order by version"


def members_router(context: ProductContext[UserSegmentationSettings]) -> APIRouter:
    """The routes, over the product's membership, ML and feature tables."""
    membership = context.table("gold.segment_membership")
    assignments = context.table("gold.ml_assignments")
    ml_models = context.table("gold.ml_models")
    features = context.table("gold.user_features")
    changes = context.table("gold.segment_changes")
    router = APIRouter(tags=[PRODUCT])

    async def existing(request: Request, caller: Principal, segment_id: str) -> None:
        """404 unless the segment exists (a live rule segment, or one of the latest model)."""
        if is_rule(segment_id):
            await anyio.to_thread.run_sync(
                _definitions.stored, lake_of(request), context, segment_id
            )
        else:
            await ml_segment(request, caller, segment_id, assignments, ml_models)

    async def trend(
        request: Request, caller: Principal, segment_id: str, days: int
    ) -> list[dict[str, Any]]:
        if is_rule(segment_id):
            rows = await gold_rows(
                request,
                caller,
                RULE_TREND_SQL,
                {"c": changes},
                {"segment_id": segment_id, "today": datetime.now(UTC).date(), "days": days},
            )
            return [dict(row) for row in rows]
        rows = await gold_rows(request, caller, ML_TREND_SQL, {"models": ml_models})
        return [
            {
                "model_version": row["version"],
                "trained_at": row["trained_at"],
                "size": json.loads(row["sizes"]).get(segment_id, 0),
            }
            for row in rows
        ]

    @router.get("/{segment_id}/users", summary="The people of a segment, paged")
    async def segment_users(
        segment_id: SegmentId,
        request: Request,
        caller: Reader,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        await existing(request, caller, segment_id)
        sql, table = (
            (RULE_MEMBERS_SQL, membership) if is_rule(segment_id) else (ML_MEMBERS_SQL, assignments)
        )
        page = await gold_page(
            request,
            caller,
            sql,
            {"m": table},
            {"segment_id": segment_id},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut({"segment_id": segment_id, **page})

    @router.get("/{segment_id}/profile", summary="A segment's size, feature summary and trend")
    async def segment_profile(
        segment_id: SegmentId,
        request: Request,
        caller: Reader,
        days: Annotated[
            int, Query(ge=1, le=366, description="Days of trend, up to today (rule segments).")
        ] = 30,
    ) -> JSONOut:
        await existing(request, caller, segment_id)
        members = membership if is_rule(segment_id) else assignments
        tables = {"f": features, "m": members}
        params = {"segment_id": segment_id}
        summary = await gold_rows(request, caller, SUMMARY_SQL, tables, params)
        platforms = await gold_rows(request, caller, PLATFORMS_SQL, tables, params)
        size = summary[0]["people"] if summary else 0
        return JSONOut(
            {
                "segment_id": segment_id,
                "size": size,
                "features": {
                    row["feature"]: {k: row[k] for k in ("min", "mean", "median", "max")}
                    for row in summary
                },
                "last_platform": {row["last_platform"]: row["people"] for row in platforms},
                "trend": await trend(request, caller, segment_id, days),
            }
        )

    return router
