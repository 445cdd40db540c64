"""A query of one key's rows (`keys`) reads only the files and row groups holding them, however
the table is partitioned: one user's rows in a table partitioned by day."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx2 as httpx
import pyarrow as pa
import pytest
from fastapi import APIRouter, Request
from prometheus_client import REGISTRY

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page
from dataplatform.testing import (
    RunningGateway,
    platform_settings,
    running_gateway,
    serving_routers,
)

SESSIONS = "web_user_analytics.gold.user_sessions"
READ = require(product_permission("web-user-analytics", "read"))
FIRST_DAY = date(2026, 3, 1)
DAYS = 10
USERS = [f"u{n:02d}" for n in range(30)]
OF_USER = "select day, session_id, started_at from s where user_id = $user order by session_id"


def query_router() -> APIRouter:
    router = APIRouter(prefix="/q")

    @router.get("/users/{user}/sessions")
    async def user_sessions(
        request: Request,
        caller: Annotated[Principal, READ],
        user: str,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            OF_USER,
            {"s": SESSIONS},
            {"user": user},
            limit=limit,
            cursor=cursor,
            keys={"s": ("user_id", [user])},
        )
        return JSONOut(page)

    return router


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RunningGateway, str]]:
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'metadata.db'}",
        tmp_path / "lake",
        gateway={"snapshot_seconds": 0},
    )
    with running_gateway(settings) as gateway, serving_routers(gateway, query_router()) as url:
        yield gateway, url


def sessions_of(day: date, users: list[str]) -> pa.Table:
    at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return pa.table(
        {
            "day": [day] * len(users),
            "session_id": [f"{user}-{day.isoformat()}" for user in users],
            "user_id": users,
            "started_at": pa.array([at] * len(users), pa.timestamp("us", "UTC")),
        }
    )


def write_days(gateway: RunningGateway) -> None:
    """A file per day, each with sessions of every user but `u07`, who came on days 3 and 8
    only: every day's key range holds `u07`."""
    lake = gateway.services.lake
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        users = [user for user in USERS if user != "u07" or offset in (3, 8)]
        lake.append(SESSIONS, sessions_of(day, users), partition_by=["day"])


def files_read() -> float:
    value = REGISTRY.get_sample_value("dataplatform_serving_files_read_total", {"table": SESSIONS})
    return value or 0.0


def get(url: str, gateway: RunningGateway, path: str) -> list[dict[str, str]]:
    response = httpx.get(f"{url}{path}", headers=gateway.admin)
    assert response.status_code == 200, response.text
    rows: list[dict[str, str]] = response.json()["rows"]
    return rows


def test_one_users_rows_are_read_from_the_files_holding_them_only(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    before = files_read()

    rows = get(url, gateway, "/q/users/u07/sessions")

    assert rows == [
        {
            "day": "2026-03-04",
            "session_id": "u07-2026-03-04",
            "started_at": "2026-03-04T09:00:00+00:00",
        },
        {
            "day": "2026-03-09",
            "session_id": "u07-2026-03-09",
            "started_at": "2026-03-09T09:00:00+00:00",
        },
    ]
    assert files_read() - before == 2  # of ten, all of whose key ranges hold `u07`


def test_a_user_written_by_a_merge_is_found_and_one_never_seen_reads_nothing(
    served: tuple[RunningGateway, str],
) -> None:
    gateway, url = served
    write_days(gateway)
    # delta-rs's merge rewrites a day's file with strings as `string_view`.
    moved = sessions_of(FIRST_DAY, ["u07"])
    gateway.services.lake.merge(SESSIONS, moved, ["day", "session_id"])
    before = files_read()

    found = get(url, gateway, "/q/users/u07/sessions")
    absent = get(url, gateway, "/q/users/u07b/sessions")

    assert [row["session_id"] for row in found] == [
        "u07-2026-03-01",
        "u07-2026-03-04",
        "u07-2026-03-09",
    ]
    assert absent == []
    assert files_read() - before == 3
