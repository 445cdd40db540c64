"""What the product's routes share: filters, paging and periods, and answering a page of one."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query, Request

from dataplatform.core.access import Principal
from dataplatform.core.bounds import ReportDate, check_day_order
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, page_answer

# The platform's paging parameters, under the names the routes use.
Limit = PageLimit
Cursor = PageCursor

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


def today() -> date:
    """Today in UTC, from the process's clock (which a test can freeze)."""
    return datetime.now(UTC).date()


def day_range(first: date | None, last: date | None, default_days: int) -> tuple[date, date]:
    """`from`..`to`, both included: by default the `default_days` days ending today (UTC)."""
    last = last or today()
    first = first or last - timedelta(days=default_days - 1)
    check_day_order(first, last)
    return first, last


async def period_page(
    request: Request,
    caller: Principal,
    sql: str,
    tables: Mapping[str, str],
    period: tuple[date, date],
    *,
    period_column: tuple[str, str],
    limit: int,
    cursor: str | None,
    params: Mapping[str, Any] | None = None,
    echoed: Mapping[str, Any] | None = None,
) -> JSONOut:
    """One page of `sql` over the period `from`..`to` (days or times, bound as `$from` and
    `$to`, beside `params`), answered with the query it ran: the period, then `echoed`.

    `period_column` (table alias, column) is what the period bounds: only the files whose
    partitions or statistics may hold a row of the period are read, so a query costs its period
    and not the table's history."""
    start, end = period
    alias, column = period_column
    page = await gold_page(
        request,
        caller,
        sql,
        tables,
        {"from": start, "to": end, **(params or {})},
        limit=limit,
        cursor=cursor,
        within={alias: {column: (start, end)}},
    )
    return JSONOut(page_answer(page, **{"from": start, "to": end}, **(echoed or {})))
