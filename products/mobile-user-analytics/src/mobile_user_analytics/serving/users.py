"""`GET /mobile/users/{user_id}/summary`: what one user did so far."""

from fastapi import APIRouter, Request

from dataplatform.core.errors import NotFoundError
from dataplatform.core.serving import JSONOut, gold_rows
from mobile_user_analytics.serving._common import USER_SUMMARY, Caller

SQL = "select * from summary where user_id = ?"

router = APIRouter()


@router.get(
    "/users/{user_id}/summary",
    summary="One user's first and last seen, sessions, events, platforms, versions, revenue",
)
async def user_summary(user_id: str, request: Request, caller: Caller) -> JSONOut:
    rows = await gold_rows(request, caller, SQL, tables={"summary": USER_SUMMARY}, params=[user_id])
    if not rows:
        # The id is not repeated back: it is personal data, and the caller already has it.
        raise NotFoundError(
            "No app activity is known for this user id (a signed-in user id, or an install's "
            "anonymous id); check the id, or wait for the next model run to take in new events."
        )
    return JSONOut(rows[0])
