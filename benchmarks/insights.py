"""Insights over a real web history (issue 19): p50 and p99 of trends through the gateway, the
same count through `POST /query`, and DuckDB alone over the same files as the baseline.

    .venv/bin/python benchmarks/insights.py --events 2000000 --days 90 --write docs/BENCHMARKS.md

For each history size, in a fresh lake and SQLite store, as `products.py` builds it: `--events`
events over `--days` days into both bronze tables, the web product's models run until caught
up in a child process, the lake compacted. Then `dataplatform serve` over it and, for each
query, one warm-up and `--requests` requests one after another, each over a period ending on
another of the last days (so no answer is in the gateway's answer cache; `again` is the last
request repeated, answered from the cache):

- a 30-day daily trend of page views; the same with a breakdown by device type; a 90-day one;
- the 30-day count of page views per day through `POST /query`;
- DuckDB alone: the same 30-day count over the table's Parquet files, in this process.
"""

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx2 as httpx
from _measure import machine, write_section

from products import (
    PRODUCTS,
    SEED,
    Platform,
    _start_gateway,
    _stop,
    compact,
    generate,
    history_volume,
    in_child,
    percentile,
)

SECTION = "Insights: trends and SQL over the web's history"
TARGET_P99_MS = 1000
TABLE = "web_user_analytics.gold.session_events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[2_000_000])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    lines = [
        f"Command: `.venv/bin/python benchmarks/insights.py --events "
        f"{' '.join(map(str, args.events))} --days {args.days}"
        f"{' --write docs/BENCHMARKS.md' if args.write else ''}`, run "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {machine()}",
        "",
        "| events | query | p50 | p99 | again (cached) | target p99 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for events in args.events:
        lines += measure(events, args.days, args.requests)
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)


def measure(events: int, days: int, requests: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as folder:
        platform = Platform.create(Path(folder))
        today = datetime.now(UTC).date()
        history = history_volume(events, days, today)
        generate(platform.lake, [history])
        in_child(platform, "models", PRODUCTS["web"], events)
        compact(platform.lake)
        ends = [today - timedelta(days=n) for n in range(1, requests + 2)]
        rows = []
        port, process = _start_gateway(platform)
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {analyst_token(platform, port)}"},
                timeout=300,
            ) as api:
                for name, ask in queries(api).items():
                    rows.append(timed(name, ask, ends, requests))
        finally:
            process.terminate()
            _stop(process)
        rows.append(
            timed("DuckDB alone: 30 days of page views per day", engine(platform), ends, requests)
        )
    return [
        f"| {events:,} | {name} | {p50:.0f} ms | {p99:.0f} ms | {again:.0f} ms | "
        f"{TARGET_P99_MS} ms ({'met' if p99 <= TARGET_P99_MS else '**missed**'}) |"
        for name, p50, p99, again in rows
    ]


def analyst_token(platform: Platform, port: int) -> str:
    """An analyst's token: trends need the product's read, SQL needs `query:run`."""
    from dataplatform.core.config import PlatformSettings
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import discover_products
    from dataplatform.platform.auth import Auth

    settings = PlatformSettings(
        database_url=platform.environment["DATAPLATFORM_DATABASE_URL"],
        lake_root=platform.environment["DATAPLATFORM_LAKE_ROOT"],
        auth={"jwt_secret": platform.environment["DATAPLATFORM_AUTH__JWT_SECRET"]},
    )
    store = MetadataStore(settings.database_url)
    auth = Auth.create(settings, store, [p.name for p in discover_products()])
    auth.users.create("bench-analyst", "a-bench-password-long", ["analyst"], "bench")
    store.dispose()
    answer = httpx.post(
        f"http://127.0.0.1:{port}/auth/token",
        data={"username": "bench-analyst", "password": "a-bench-password-long"},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


Ask = Callable[[date], Any]


def queries(api: httpx.Client) -> dict[str, Ask]:
    def trend(days: int, **extra: Any) -> Ask:
        def ask(end: date) -> Any:
            body = {
                "series": [{"event": "$pageview"}],
                "from": str(end - timedelta(days=days - 1)),
                "to": str(end),
                **extra,
            }
            return _ok(api.post("/web/insights/trends", json=body))

        return ask

    def sql(end: date) -> Any:
        start = end - timedelta(days=29)
        text = (
            f"select day, count(*) as views from {TABLE} where is_pageview and "
            f"day between date '{start}' and date '{end}' group by day order by day"
        )
        return _ok(api.post("/query", json={"sql": text}))

    return {
        "trend, 30 days per day": trend(30),
        "trend, 30 days per day, by device type": trend(30, breakdown={"property": "$device_type"}),
        "trend, 90 days per day": trend(90),
        "`POST /query`: 30 days of page views per day": sql,
    }


def engine(platform: Platform) -> Ask:
    from deltalake import DeltaTable

    files = DeltaTable(
        str(platform.folder / "lake" / "web_user_analytics/gold/session_events")
    ).file_uris()
    connection = duckdb.connect()

    def ask(end: date) -> Any:
        start = end - timedelta(days=29)
        return connection.execute(
            "select day, count(*) from read_parquet($files, hive_partitioning = true) "
            "where is_pageview and day between $start and $end group by day",
            {"files": files, "start": start, "end": end},
        ).fetchall()

    return ask


def timed(name: str, ask: Ask, ends: list[date], requests: int) -> tuple[str, float, float, float]:
    first, *others = ends
    ask(first)  # warm-up: connections, the first read of the files
    latencies = []
    for end in random.Random(SEED).sample(others, requests):
        started = time.perf_counter()
        ask(end)
        latencies.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    ask(end)
    again = (time.perf_counter() - started) * 1000
    return name, statistics.median(latencies), percentile(latencies, 0.99), again


def _ok(answer: httpx.Response) -> Any:
    if answer.status_code != 200:
        raise RuntimeError(
            f"{answer.request.url} answered {answer.status_code}: {answer.text[:300]}"
        )
    return answer.json()


if __name__ == "__main__":
    main()
