"""Activity windows and active users computed batch by batch: retries, late and out-of-order
events land in the windows they belong to, exactly as a full recompute would place them."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

NINE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
GOLD = [
    "gold.activity_1m",
    "gold.activity_1h",
    "gold.activity_1d",
    "gold.active_users",
    "gold.retention",
    "gold.user_summary",
    "gold.app_versions",
]


def key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(value) for value in row.values())


@pytest.fixture(scope="module")
def tables(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> dict[str, Any]:
    pipeline = new_pipeline()
    ana = app_event("ana-1", NINE + timedelta(seconds=10))
    cy = dict(
        user="cy", install="cy-install", device="cy-pixel", os_name="Android", version="3.3.0"
    )
    pipeline.send([ana, app_event("cy-1", NINE + timedelta(seconds=20), **cy)])
    pipeline.run()
    ben = dict(user="ben", install="ben-install", device="ben-iphone")
    pipeline.send(
        [
            ana,  # the SDK retried it
            app_event("ana-2", NINE + timedelta(days=1, hours=1), "tap"),
            app_event("ben-1", NINE + timedelta(seconds=50), "crash", **ben),  # into 09:00
        ]
    )
    pipeline.run()
    after_two = {table: pipeline.rows(table) for table in GOLD}
    dee = dict(user="dee", install="dee-install", device="dee-phone")
    pipeline.send([app_event("dee-1", NINE - timedelta(days=1), **dee)])  # a day late
    pipeline.run()
    after_three = {table: pipeline.rows(table) for table in GOLD}
    pipeline.runner.run(full_refresh=True)
    recomputed = {table: pipeline.rows(table) for table in GOLD}
    return {"two": after_two, "three": after_three, "recomputed": recomputed}


def window(rows: list[dict[str, Any]], start: datetime, platform: str, version: str) -> Any:
    (row,) = [
        r
        for r in rows
        if (r["window_start"], r["platform"], r["app_version"]) == (start, platform, version)
    ]
    return row["events"], row["active_users"], row["crashes"]


def test_a_late_event_reopens_its_minute_and_the_minute_is_recounted_whole(
    tables: dict[str, Any],
) -> None:
    minutes = tables["two"]["gold.activity_1m"]

    # 09:00 holds ana (ios 3.2.0), cy (android 3.3.0), then ben's crash (ios 3.2.0), late;
    # ana's retry is not counted again.
    assert window(minutes, NINE, "*", "*") == (3, 3, 1)
    assert window(minutes, NINE, "ios", "*") == (2, 2, 1)
    assert window(minutes, NINE, "ios", "3.2.0") == (2, 2, 1)
    assert window(minutes, NINE, "*", "3.2.0") == (2, 2, 1)
    assert window(minutes, NINE, "android", "*") == (1, 1, 0)
    assert window(minutes, NINE, "*", "3.3.0") == (1, 1, 0)
    assert len([r for r in minutes if r["window_start"] == NINE]) == 7


def test_hours_and_days_count_distinct_users_not_a_sum_of_minutes(
    tables: dict[str, Any],
) -> None:
    hours = tables["two"]["gold.activity_1h"]
    days = tables["two"]["gold.activity_1d"]
    midnight = NINE.replace(hour=0)

    assert window(hours, NINE, "*", "*") == (3, 3, 1)
    assert window(days, midnight, "*", "*") == (3, 3, 1)
    assert window(days, midnight + timedelta(days=1), "*", "*") == (1, 1, 0)


def test_a_day_late_event_is_counted_in_its_day_and_the_weeks_after(
    tables: dict[str, Any],
) -> None:
    active = sorted(tables["three"]["gold.active_users"], key=lambda r: r["day"])

    # dee on the 19th (sent a day late), ana, cy and ben on the 20th, ana on the 21st.
    assert [(r["day"], r["dau"], r["wau"], r["mau"]) for r in active] == [
        (date(2026, 11, 19), 1, 1, 1),
        (date(2026, 11, 20), 3, 4, 4),
        (date(2026, 11, 21), 1, 4, 4),
    ]


@pytest.mark.parametrize("table", GOLD)
def test_batch_by_batch_equals_a_full_recompute(tables: dict[str, Any], table: str) -> None:
    assert sorted(tables["three"][table], key=key) == sorted(tables["recomputed"][table], key=key)
