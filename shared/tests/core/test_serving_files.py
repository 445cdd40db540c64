"""Serving reads only the files a query needs, through DuckDB, and keeps only a bounded cache of
answers: period pruning, `string_view` files, pinned cursors, answer cache hits and eviction."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx2 as httpx
import pyarrow as pa
import pytest
from fastapi import APIRouter, Request
from prometheus_client import REGISTRY

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, gold_rows
from dataplatform.testing import (
    RunningGateway,
    platform_settings,
    running_gateway,
    serving_routers,
)

# One file per day: partitioned by `day`, and unpartitioned (pruned by min/max statistics).
BY_DAY = "mobile_user_analytics.gold.daily_counts"
BY_TIME = "mobile_user_analytics.gold.timed_counts"
PAGES = "mobile_user_analytics.gold.page_counts"
READ = require(product_permission("mobile-user-analytics", "read"))
FIRST_DAY = date(2026, 3, 1)
DAYS = 10
ANSWERS_KEPT = 2


def query_router() -> APIRouter:
    router = APIRouter(prefix="/q")

    @router.get("/by-day")
    async def by_day(
        request: Request, caller: Annotated[Principal, READ], first: date, last: date
    ) -> JSONOut:
        sql = "select day, sum(n) as n from d where day between $first and $last group by day order by day"
        params = {"first": first, "last": last}
        within = {"d": {"day": (first, last)}}
        return JSONOut(await gold_rows(request, caller, sql, {"d": BY_DAY}, params, within=within))

    @router.get("/by-time")
    async def by_time(
        request: Request, caller: Annotated[Principal, READ], since: datetime, until: datetime
    ) -> JSONOut:
        sql = "select sum(n) as n from t where seen_at >= $since and seen_at < $until"
        within = {"t": {"seen_at": (since, until)}}
        params = {"since": since, "until": until}
        return JSONOut(await gold_rows(request, caller, sql, {"t": BY_TIME}, params, within=within))

    @router.get("/pages")
    async def pages(
        request: Request,
        caller: Annotated[Principal, READ],
        page: str | None = None,
        limit: PageLimit = 2,
        cursor: PageCursor = None,
    ) -> JSONOut:
        sql = "select page, views from p where page = $page or $page is null order by page"
        return JSONOut(
            await gold_page(
                request, caller, sql, {"p": PAGES}, {"page": page}, limit=limit, cursor=cursor
            )
        )

    return router


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RunningGateway, str]]:
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'metadata.db'}",
        tmp_path / "lake",
        # A table is re-checked on every request: an answer never lags a commit in these tests.
        gateway={"answer_cache_entries": ANSWERS_KEPT, "snapshot_seconds": 0},
    )
    with running_gateway(settings) as gateway, serving_routers(gateway, query_router()) as url:
        yield gateway, url


def write_days(gateway: RunningGateway) -> None:
    """Ten days, each its own commit: a file per day in each table, `n` = the day of month."""
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        rows = {"day": [day, day], "n": [day.day, 0]}
        gateway.services.lake.append(BY_DAY, pa.table(rows), partition_by=["day"])
        timed = {"seen_at": pa.array([at, at], pa.timestamp("us", "UTC")), "n": [day.day, 0]}
        gateway.services.lake.append(BY_TIME, pa.table(timed))


def files_read(table: str) -> float:
    value = REGISTRY.get_sample_value("dataplatform_serving_files_read_total", {"table": table})
    return value or 0.0


def answers(outcome: str) -> float:
    value = REGISTRY.get_sample_value("dataplatform_serving_answers_total", {"outcome": outcome})
    return value or 0.0


def get(url: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    response = httpx.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response


def test_a_period_query_reads_only_the_files_of_that_period(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    before = files_read(BY_DAY)

    rows = get(f"{url}/q/by-day", gateway.admin, first="2026-03-04", last="2026-03-06").json()

    assert rows == [
        {"day": "2026-03-04", "n": 4},
        {"day": "2026-03-05", "n": 5},
        {"day": "2026-03-06", "n": 6},
    ]
    assert files_read(BY_DAY) - before == 3  # of ten: one file a day, three days


def test_statistics_prune_an_unpartitioned_table_to_the_period(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    before = files_read(BY_TIME)

    rows = get(
        f"{url}/q/by-time",
        gateway.admin,
        since="2026-03-02T00:00:00Z",
        until="2026-03-04T00:00:00Z",
    ).json()

    assert rows == [{"n": 2 + 3}]
    assert files_read(BY_TIME) - before == 2


def test_string_filters_answer_over_files_a_merge_and_a_delete_wrote(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    lake = gateway.services.lake
    lake.append(PAGES, pa.table({"page": ["/", "/docs", "/pricing"], "views": [1, 2, 3]}))
    # delta-rs's merge and delete rewrite files with strings as `string_view`.
    lake.merge(PAGES, pa.table({"page": ["/docs", "/blog"], "views": [20, 5]}), ["page"])
    lake.delete(PAGES, "page = '/'")

    rows = get(f"{url}/q/pages", gateway.admin, page="/docs").json()["rows"]
    everything = get(f"{url}/q/pages", gateway.admin, limit=10).json()["rows"]

    assert rows == [{"page": "/docs", "views": 20}]
    assert everything == [
        {"page": "/blog", "views": 5},
        {"page": "/docs", "views": 20},
        {"page": "/pricing", "views": 3},
    ]


def test_a_cursor_reads_its_pinned_version_after_merges_and_appends(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    lake = gateway.services.lake
    lake.append(PAGES, pa.table({"page": ["/a", "/b", "/c"], "views": [1, 2, 3]}))
    first = get(f"{url}/q/pages", gateway.admin).json()

    lake.merge(PAGES, pa.table({"page": ["/c", "/aa"], "views": [30, 9]}), ["page"])
    lake.append(PAGES, pa.table({"page": ["/d"], "views": [4]}))
    second = get(f"{url}/q/pages", gateway.admin, cursor=first["next_cursor"]).json()
    fresh = get(f"{url}/q/pages", gateway.admin, limit=10).json()

    assert first["rows"] == [{"page": "/a", "views": 1}, {"page": "/b", "views": 2}]
    assert second == {"rows": [{"page": "/c", "views": 3}], "next_cursor": None}
    assert [row["page"] for row in fresh["rows"]] == ["/a", "/aa", "/b", "/c", "/d"]


def test_a_cursor_whose_version_was_vacuumed_is_a_422_naming_it(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    lake = gateway.services.lake
    lake.append(PAGES, pa.table({"page": ["/a", "/b", "/c"], "views": [1, 2, 3]}))
    cursor = get(f"{url}/q/pages", gateway.admin).json()["next_cursor"]
    lake.overwrite(PAGES, pa.table({"page": ["/z"], "views": [1]}))
    for file in lake.table(PAGES, version=0).file_uris():  # as a purge removes them
        Path(file).unlink()

    response = httpx.get(f"{url}/q/pages", headers=gateway.admin, params={"cursor": cursor})

    assert response.status_code == 422
    assert "cursor" in response.text and "removed" in response.text


def test_the_second_identical_request_reads_no_file(served: tuple[RunningGateway, str]) -> None:
    gateway, url = served
    write_days(gateway)
    query = {"first": "2026-03-01", "last": "2026-03-02"}
    first = get(f"{url}/q/by-day", gateway.admin, **query).json()
    files, hits = files_read(BY_DAY), answers("hit")

    again = get(f"{url}/q/by-day", gateway.admin, **query).json()

    assert again == first
    assert files_read(BY_DAY) == files
    assert answers("hit") == hits + 1


def test_a_commit_is_answered_from_the_new_files_not_the_cache(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    query = {"first": "2026-03-01", "last": "2026-03-01"}
    assert get(f"{url}/q/by-day", gateway.admin, **query).json() == [{"day": "2026-03-01", "n": 1}]

    rows = pa.table({"day": [FIRST_DAY], "n": [100]})
    gateway.services.lake.append(BY_DAY, rows, partition_by=["day"])

    assert get(f"{url}/q/by-day", gateway.admin, **query).json() == [
        {"day": "2026-03-01", "n": 101}
    ]


def test_the_cache_keeps_a_bounded_number_of_answers_evicting_the_oldest(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    periods = [{"first": f"2026-03-0{d}", "last": f"2026-03-0{d}"} for d in (1, 2, 3)]
    for period in periods[:ANSWERS_KEPT]:
        get(f"{url}/q/by-day", gateway.admin, **period)
    files = files_read(BY_DAY)

    get(f"{url}/q/by-day", gateway.admin, **periods[1])  # kept: no file read
    get(f"{url}/q/by-day", gateway.admin, **periods[2])  # the N+1th evicts the oldest: day 1
    get(f"{url}/q/by-day", gateway.admin, **periods[0])  # read again

    assert files_read(BY_DAY) - files == 2
