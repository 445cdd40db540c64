"""`GET /mobile/activity`: events by type, active users and crashes per minute, hour or day."""

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from dataplatform.core.bounds import ReportTime, as_utc
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut
from mobile_user_analytics.processing import ACTIVITY_GRAINS
from mobile_user_analytics.serving._access import Reader
from mobile_user_analytics.serving._common import (
    ALL,
    AppVersion,
    Cursor,
    Limit,
    Platform,
    period_page,
)
from mobile_user_analytics.settings import MobileUserAnalyticsSettings

Granularity = Literal["minute", "hour", "day"]
STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
DEFAULT_SPAN = timedelta(days=7)
# A week of minutes: a longer range must take a coarser granularity (it would be read whole).
MAX_WINDOWS = 7 * 24 * 60

SQL = """
select window_start, platform, app_version, events, screen_views, app_opens, app_backgrounds,
       taps, add_to_carts, purchases, crashes, other_events, active_users
from activity
where window_start >= $from and window_start < $to
    and platform = $platform and app_version = $app_version
order by window_start
"""

StartParameter = Annotated[
    ReportTime | None,
    Query(
        alias="from",
        description="Start (ISO 8601 date or time, UTC unless zoned), rounded down to its "
        "window; default: 7 days before `to`.",
    ),
]
EndParameter = Annotated[
    ReportTime | None,
    Query(alias="to", description="End, excluded (ISO 8601 date or time); default: now."),
]


def activity_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    """The route, over the product's gold activity tables, one per granularity."""
    router = APIRouter()
    # gold.activity_1m, _1h and _1d: the grains the processing declares, by unit.
    activity_tables = {
        unit: context.table(f"gold.activity_{suffix}") for suffix, unit in ACTIVITY_GRAINS.items()
    }

    @router.get("/activity", summary="Activity windows: events by type, active users, crashes")
    async def activity(
        request: Request,
        caller: Reader,
        start: StartParameter = None,
        end: EndParameter = None,
        granularity: Granularity = "hour",
        platform: Platform = None,
        app_version: AppVersion = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> JSONOut:
        period = windows_asked(start, end, granularity)
        chosen = {"platform": platform or ALL, "app_version": app_version or ALL}
        return await period_page(
            request,
            caller,
            SQL,
            {"activity": activity_tables[granularity]},
            period,
            period_column=("activity", "window_start"),
            params=chosen,
            echoed={"granularity": granularity, **chosen},
            limit=limit,
            cursor=cursor,
        )

    return router


def windows_asked(
    start: datetime | None, end: datetime | None, granularity: Granularity
) -> tuple[datetime, datetime]:
    """`from`..`to` in UTC, by default the 7 days to now, `from` rounded down to its window;
    a 422 when it is empty or spans more than `MAX_WINDOWS` windows."""
    end = as_utc(end) if end is not None else datetime.now(UTC)
    start = window_of(as_utc(start) if start is not None else end - DEFAULT_SPAN, granularity)
    if start >= end:
        raise InvalidRequestError(
            f"`from` ({start.isoformat()}) is not before `to` ({end.isoformat()}).",
            field="query.from",
        )
    windows = math.ceil((end - start) / STEP[granularity])
    if windows > MAX_WINDOWS:
        raise InvalidRequestError(
            f"`from`..`to` spans {windows} {granularity} windows; at most {MAX_WINDOWS} can be "
            "asked at once: narrow the range or choose a coarser `granularity`.",
            field="query.to",
        )
    return start, end


def window_of(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the window holding `moment` (UTC)."""
    if granularity == "minute":
        return moment.replace(second=0, microsecond=0)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
