"""`GET /mobile/versions` (adoption) and `GET /mobile/crashes` (crash-free users and sessions),
both per app version, newest first."""

from fastapi import APIRouter, Request

from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, gold_page, page_answer
from mobile_user_analytics.serving._access import Reader
from mobile_user_analytics.serving._common import (
    ALL,
    AppVersion,
    Cursor,
    Limit,
    Platform,
)
from mobile_user_analytics.settings import MobileUserAnalyticsSettings

VERSIONS_SQL = """
select app_version, platform, first_seen, last_seen, users, sessions, events
from versions
where platform = $platform
order by first_seen desc, app_version
"""
CRASHES_SQL = """
select app_version, platform, users, sessions, crashes, crashed_users, crashed_sessions,
       crash_free_users, crash_free_sessions
from versions
where platform = $platform and (app_version = $app_version or $app_version = '*')
order by first_seen desc, app_version
"""


def versions_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The routes, over the product's gold.app_versions."""
    router = APIRouter()
    tables = {"versions": context.table("gold.app_versions")}

    @router.get("/versions", summary="App versions: first and last seen, users, sessions, events")
    async def versions(
        request: Request,
        caller: Reader,
        platform: Platform = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        chosen = {"platform": platform or ALL}
        page = await gold_page(
            request, caller, VERSIONS_SQL, tables, chosen, limit=limit, cursor=cursor
        )
        return JSONOut(page_answer(page, **chosen))

    @router.get(
        "/crashes", summary="Crashes, crash-free users and crash-free sessions by app version"
    )
    async def crashes(
        request: Request,
        caller: Reader,
        platform: Platform = None,
        app_version: AppVersion = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        chosen = {"platform": platform or ALL, "app_version": app_version or ALL}
        page = await gold_page(
            request, caller, CRASHES_SQL, tables, chosen, limit=limit, cursor=cursor
        )
        return JSONOut(page_answer(page, **chosen))

    return router
