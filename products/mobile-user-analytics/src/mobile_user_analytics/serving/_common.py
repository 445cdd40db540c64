"""What the product's routes share: the permission, the tables, paging and time parameters."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.bounds import ReportDate
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.serving import PageCursor, PageLimit

# The platform's paging parameters, under the names the routes use.
Limit = PageLimit
Cursor = PageCursor

PRODUCT = "mobile-user-analytics"
READ = require(product_permission(PRODUCT, "read"))
Caller = Annotated[Principal, READ]

ACTIVITY = {
    "minute": "mobile_user_analytics.gold.activity_1m",
    "hour": "mobile_user_analytics.gold.activity_1h",
    "day": "mobile_user_analytics.gold.activity_1d",
}
USER_SUMMARY = "mobile_user_analytics.gold.user_summary"
ACTIVE_USERS = "mobile_user_analytics.gold.active_users"
RETENTION = "mobile_user_analytics.gold.retention"
APP_VERSIONS = "mobile_user_analytics.gold.app_versions"
EVENTS = "mobile_user_analytics.gold.events"

ALL = "*"  # the gold tables' rows that total every platform or app version

Platform = Annotated[
    Literal["ios", "android"] | None, Query(description="Every platform when absent.")
]
# Version names as SDKs send them (3.2.1, 3.2.1-beta+45); anything else cannot match a row.
AppVersion = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$",
        description="An app version such as 3.2.1; every version when absent.",
    ),
]
FirstDay = Annotated[
    ReportDate | None, Query(alias="from", description="First day (UTC), included.")
]
LastDay = Annotated[ReportDate | None, Query(alias="to", description="Last day (UTC), included.")]


def page_answer(page: dict[str, Any], **query: Any) -> dict[str, Any]:
    """A page with the query it answers (defaults filled in), so a client sees what it got."""
    return {"query": query, **page}


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def today() -> date:
    return datetime.now(UTC).date()


def day_range(first: date | None, last: date | None, default_days: int) -> tuple[date, date]:
    """`from`..`to`, both included: by default the `default_days` days ending today (UTC)."""
    last = last or today()
    first = first or last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidRequestError(
            f"`from` ({first}) is after `to` ({last}); give a `from` on or before `to`.",
            field="query.from",
        )
    return first, last
