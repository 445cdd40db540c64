"""`GET /segments/users/{user_id}`: one person's features and segments, found by any of their
ids (a user id, a browser's anonymous id, an app install id)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request

from dataplatform.core.errors import NotFoundError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_rows
from user_segmentation.serving._access import PRODUCT, Reader
from user_segmentation.settings import UserSegmentationSettings

# The person of an id: the graph's (a user id first, should an anonymous id share its
# spelling), else the id itself (someone never linked).
PERSON = """
with person as (
    select coalesce(
        (select person_id from g where identifier = $id order by kind = 'user' desc limit 1), $id
    ) as person_id
)
"""
FEATURES_SQL = PERSON + "select f.* from f join person using (person_id)"
RULE_SEGMENTS_SQL = (
    PERSON
    + """
select m.segment_id, d.name, m.entered_at, m.definition_version
from m
join person using (person_id)
join d on d.segment_id = m.segment_id and d.deleted_at is null
order by m.segment_id
"""
)
ML_SEGMENT_SQL = (
    PERSON + "select a.segment_id, a.model_version from a join person using (person_id)"
)

UserId = Annotated[
    str, Path(min_length=1, max_length=200, description="A user id or an anonymous id.")
]


def people_router(context: ProductContext[UserSegmentationSettings]) -> APIRouter:
    """The route, over the product's features, identity graph and segment tables."""
    graph = context.table("silver.identity_graph")
    features_tables = {"f": context.table("gold.user_features"), "g": graph}
    rules_tables = {
        "m": context.table("gold.segment_membership"),
        "g": graph,
        "d": context.table("gold.segment_definitions"),
    }
    ml_tables = {"a": context.table("gold.ml_assignments"), "g": graph}
    router = APIRouter(tags=[PRODUCT])

    @router.get("/users/{user_id}", summary="A person's features and segments, by any of their ids")
    async def person_segments(user_id: UserId, request: Request, caller: Reader) -> JSONOut:
        ids = {"id": user_id}
        features = await gold_rows(request, caller, FEATURES_SQL, features_tables, ids)
        if not features:
            # The id is not repeated back: it is personal data, and the caller already has it.
            raise NotFoundError(
                "No person is known by this id (a user id, or a browser's or app install's "
                "anonymous id); check it, or wait for the next model run to take in new events."
            )
        rules = await gold_rows(
            request,
            caller,
            RULE_SEGMENTS_SQL,
            rules_tables,
            ids,
        )
        ml = await gold_rows(request, caller, ML_SEGMENT_SQL, ml_tables, ids)
        return JSONOut(
            {"features": features[0], "segments": rules, "ml_segment": ml[0] if ml else None}
        )

    return router
