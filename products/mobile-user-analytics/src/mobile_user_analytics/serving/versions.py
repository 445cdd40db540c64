"""`GET /mobile/versions` (adoption) and `GET /mobile/crashes` (crash-free users and sessions),
both per app version, newest first."""

from fastapi import APIRouter, Request

from dataplatform.core.serving import JSONOut, gold_page
from mobile_user_analytics.serving._common import (
    ALL,
    APP_VERSIONS,
    AppVersion,
    Caller,
    Cursor,
    Limit,
    Platform,
    page_answer,
)

VERSIONS_SQL = """
select app_version, platform, first_seen, last_seen, users, sessions, events
from versions
where platform = ?
order by first_seen desc, app_version
"""
CRASHES_SQL = """
select app_version, platform, users, sessions, crashes, crashed_users, crashed_sessions,
       crash_free_users, crash_free_sessions
from versions
where platform = $platform and (app_version = $version or $version = '*')
order by first_seen desc, app_version
"""

router = APIRouter()


@router.get("/versions", summary="App versions: first and last seen, users, sessions, events")
async def versions(
    request: Request,
    caller: Caller,
    platform: Platform = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> JSONOut:
    page = await gold_page(
        request,
        caller,
        VERSIONS_SQL,
        tables={"versions": APP_VERSIONS},
        params=[platform or ALL],
        limit=limit,
        cursor=cursor,
    )
    return JSONOut(page_answer(page, platform=platform or ALL))


@router.get("/crashes", summary="Crashes, crash-free users and crash-free sessions by app version")
async def crashes(
    request: Request,
    caller: Caller,
    platform: Platform = None,
    app_version: AppVersion = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> JSONOut:
    version = app_version or ALL
    page = await gold_page(
        request,
        caller,
        CRASHES_SQL,
        tables={"versions": APP_VERSIONS},
        params={"platform": platform or ALL, "version": version},
        limit=limit,
        cursor=cursor,
    )
    return JSONOut(page_answer(page, platform=platform or ALL, app_version=version))
