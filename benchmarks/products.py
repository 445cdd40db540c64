"""The real mobile and web products over growing history (issue 16): full runs, ticks, the
gateway under a mixed load, and event-to-API freshness in continuous mode.

    .venv/bin/python benchmarks/products.py --events 2000000 5000000 20000000 --days 90 --write docs/BENCHMARKS.md

(`make bench` runs it with these defaults.) For each history size, in a fresh lake and SQLite
metadata store:

1. History: `--events` events over `--days` days ending yesterday (UTC), written straight into
   both bronze tables by the columnar generator (the collector's envelope), with as many users
   as make about 4 % of them active a day.
2. Engine alone: DuckDB reads each bronze table's Parquet files and groups them by user and day,
   in a child process (events/s). The products' rates are given beside it: these machines vary
   2-3x from day to day.
3. Full run: each product's models over the whole history, in a child process that builds its
   runner and runs it until caught up as `dataplatform models run` does (passes bounded by
   `models.max_rows_per_run`); seconds, passes, events/s, and the child's peak RSS (the
   kernel's ru_maxrss of the waited child).
   The lake's maintenance then compacts every table of both products, as the scheduled job
   does once ticks have added files (forced here, right after the full run): clustered tables
   (`cluster_by`) sorted by their key in small row groups, so key lookups read few of them.
4. Ticks: +0.01 %, then +1 % more events (on the latest day, a twentieth of them late: on the
   three days before), each followed by the product's models run as in 3 (one pass each).
5. Gateway: `dataplatform serve` over the lake; requests to four routes, shuffled together, over
   two keep-alive connections, their parameters drawn at random; p50 and p99 per route, then the
   process's RSS.
6. Freshness: each product's continuous runner (`dataplatform models run --continuous`) beside
   the gateway; page views sent one at a time through the gateway's collector (Segment's
   `/v1/batch`), each at a random moment of the schedule; seconds from sending until
   `/web/realtime` and `/web/sessions` count it.

A phase that fails writes its error in the table in place of its figures; the others still run.
"""

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import httpx2 as httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _measure import machine, peak_rss_mb, resident_mb, write_section
from gateway import Connection, platform_environment, start

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, MaintenancePolicy, maintain
from dataplatform.core.product import discover_products, get_product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.auth import Auth
from dataplatform.platform.collector import free_port
from dataplatform.platform.generator import Volume, write_columns
from dataplatform.platform.sources import SourceRegistry

PRODUCTS = {"mobile": "mobile-user-analytics", "web": "web-user-analytics"}
BRONZE = {
    "mobile": "mobile_user_analytics.bronze.app_events",
    "web": "web_user_analytics.bronze.clickstream",
}
SECTION = "Products: mobile and web over growing history"
DEFAULT_EVENTS = [2_000_000, 5_000_000, 20_000_000]
DAILY_ACTIVE_SHARE = 0.04
SMALL_TICK, LARGE_TICK = "+0.01 %", "+1 %"
TICKS = {SMALL_TICK: 0.0001, LARGE_TICK: 0.01}
LATE_SHARE = 1 / 20
LATE_DAYS = 3
# Arrivals are drawn from at least this many events, then cut: drawing a handful of events from
# a handful of users fails in the generator when a round of theirs brings no web visit.
MIN_DRAW = 1_000
SEED = 16
REQUESTS_PER_ROUTE = 200
CONNECTIONS = 2
FRESHNESS_EVENTS = 5
WAIT_SECONDS = 300.0  # for a runner to start, or an event to show
CLI = (sys.executable, "-m", "dataplatform.cli")
SIGNING_SECRET = "products-benchmark-signing-secret-" + "3c" * 16
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# Reads the envelope columns the silver models parse, and groups by user and day as they do.
SCAN = """
select coalesce(user_id, anonymous_id) as who, date_trunc('day', "timestamp") as day,
       count(*) as events, count(distinct event_id) as distinct_events,
       sum(length(context) + length(properties)) as json_characters
from read_parquet($files)
group by all
"""

# Issue 16's targets, in the units of the tables.
TARGET_EVENTS_PER_SECOND = 1_000_000
TARGET_RUNNER_MB = 2048
TARGET_SMALL_TICK_SECONDS = 1.0
TARGET_TICK_SHARE = 0.05
TARGET_SMALL_TICK_GROWTH = 1.5
TARGET_GATEWAY_MB = 1024
TARGET_P99_MS = {"period": 100.0, "user": 50.0}
TARGET_P95_SECONDS = {"/web/realtime": 5.0, "/web/sessions": 15.0}

T = TypeVar("T")


@dataclass(frozen=True)
class Failed:
    """A phase that raised: shown in the table where its figures would be."""

    error: str

    def __str__(self) -> str:
        lines = self.error.strip().splitlines() or ["no message"]
        return "failed: " + lines[0][:200].replace("|", "/")


@dataclass(frozen=True)
class Run:
    """One child's work: seconds inside it, its peak RSS, the events it had, its slowest
    models (name, seconds, rows read; over all its passes) and how many passes it made."""

    seconds: float
    peak_mb: float
    events: int
    slowest: tuple[tuple[str, float, int], ...] = ()
    passes: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass
class ProductFigures:
    engine: Run | Failed = Failed("not measured")
    full: Run | Failed = Failed("not measured")
    ticks: dict[str, Run | Failed] = field(default_factory=dict)


@dataclass
class SizeFigures:
    events: int
    days: int
    users: int
    generated: Run | Failed = Failed("not measured")
    products: dict[str, ProductFigures] = field(
        default_factory=lambda: {kind: ProductFigures() for kind in PRODUCTS}
    )
    latencies: dict[str, list[float] | Failed] = field(default_factory=dict)
    targets_ms: dict[str, float] = field(default_factory=dict)
    gateway_mb: tuple[float, float] | Failed = Failed("not measured")
    freshness: dict[str, list[float]] | Failed = Failed("not measured")


def attempt(what: str, measure: Callable[[], T]) -> T | Failed:
    """`measure()`, or its error: printed whole here, and shown in the table."""
    try:
        return measure()
    except Exception as exc:  # reported in the table; the next phases still run
        print(f"{what} failed:", file=sys.stderr)
        traceback.print_exc()
        return Failed(f"{type(exc).__name__}: {exc}")


# --- the lake and the platform's metadata -------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    """A lake and a metadata store in `folder`, the environment every process gets, a viewer's
    API key and the website's write key."""

    folder: Path
    environment: dict[str, str]
    api_key: str
    write_key: str

    @property
    def lake(self) -> Lakehouse:
        return Lakehouse(self.folder / "lake")

    @classmethod
    def create(cls, folder: Path) -> "Platform":
        database_url = f"sqlite:///{folder / 'metadata.db'}"
        settings = PlatformSettings(
            database_url=database_url,
            lake_root=str(folder / "lake"),
            auth={"jwt_secret": SIGNING_SECRET},
        )
        store = MetadataStore(database_url)
        store.upgrade()
        auth = Auth.create(settings, store, [product.name for product in discover_products()])
        auth.roles.ensure_builtin()
        _, api_key = auth.keys.create("products-bench", ["viewer"], "bench", 1)
        _, write_key = SourceRegistry(store).create("bench-website", "web", PRODUCTS["web"])
        store.dispose()
        environment = {
            **platform_environment(folder, database_url),
            "COLUMNS": "200",  # the runners' tables in their logs, unwrapped
        }
        return cls(folder, environment, api_key, write_key)

    def schedule_seconds(self) -> int:
        """How often the website's continuous runner ticks, as configured."""
        store = MetadataStore(self.environment["DATAPLATFORM_DATABASE_URL"])
        try:
            web = get_product(PRODUCTS["web"])
            return int(ProductConfigs(store).settings_of(web).schedule_seconds)
        finally:
            store.dispose()


# --- history and arrivals -----------------------------------------------------------------------


def history_volume(events: int, days: int, today: date) -> Volume:
    """`events` over the `days` days before `today`, with about 4 % of the users active a day."""
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=days)
    # The chance of a person being active a day falls in proportion as the users grow.
    probe = Volume(events, days, start, SEED, events)
    users = round(events * probe.busiest_day_chance / DAILY_ACTIVE_SHARE)
    return Volume(max(1, min(events, users)), days, start, SEED, events)


def arrivals(history: Volume, events: int, seed: int) -> list[tuple[Volume, int]]:
    """Where `events` new events of the history's users come from: its latest day, and for a
    twentieth of them the days before (late). Each volume is drawn with at least `MIN_DRAW`
    events, of which the count beside it is kept. Another seed than the history's: other event
    ids, and other devices and browsers for the same user ids."""
    late_days = min(LATE_DAYS, history.days - 1)
    late = min(events - 1, max(1, round(events * LATE_SHARE))) if late_days else 0
    latest = history.start + timedelta(days=history.days - 1)
    wanted = [(latest, 1, events - late), (latest - timedelta(days=late_days), late_days, late)]
    volumes = []
    for number, (first, days, kept) in enumerate(wanted):
        drawn = max(kept, MIN_DRAW)
        if kept:
            volume = Volume(min(history.users, drawn), days, first, seed + number, drawn)
            volumes.append((volume, kept))
    return volumes


def arrive(lake: Lakehouse, history: Volume, events: int, seed: int) -> dict[str, int]:
    """Append `events` new events (see `arrivals`) to the bronze tables, one commit each; how
    many each table got."""
    rng = np.random.default_rng(seed)
    kept_rows: dict[str, list[pa.Table]] = {kind: [] for kind in BRONZE}
    for volume, kept in arrivals(history, events, seed):
        with tempfile.TemporaryDirectory(prefix="arrivals-") as folder:
            drawn = Lakehouse(folder)
            write_columns(volume, drawn, BRONZE)
            tables = {kind: drawn.read(table) for kind, table in BRONZE.items()}
        for kind, rows in _sample(tables, kept, rng).items():
            kept_rows[kind].append(rows)
    appended = {}
    for kind, parts in kept_rows.items():
        rows = pa.concat_tables(parts)
        if rows.num_rows:
            lake.append(BRONZE[kind], rows)
        appended[kind] = rows.num_rows
    return appended


def _sample(
    tables: dict[str, pa.Table], count: int, rng: np.random.Generator
) -> dict[str, pa.Table]:
    """`count` rows drawn at random from all of `tables` together, each left in its table."""
    sizes = [table.num_rows for table in tables.values()]
    chosen = np.sort(rng.choice(sum(sizes), size=min(count, sum(sizes)), replace=False))
    bounds = np.cumsum([0, *sizes])
    return {
        kind: table.take(chosen[(chosen >= low) & (chosen < high)] - low)
        for (kind, table), low, high in zip(tables.items(), bounds[:-1], bounds[1:], strict=True)
    }


def bronze_events(lake: Lakehouse) -> dict[str, int]:
    """Rows of each bronze table (DuckDB reads them from the files' footers)."""
    counts = {}
    for kind, table in BRONZE.items():
        files = lake.table(table).file_uris()
        row = duckdb.execute("select count(*) from read_parquet($files)", {"files": files})
        counts[kind] = int(row.fetchone()[0])  # type: ignore[index]
    return counts


def generate(lake: Lakehouse, volumes: list[Volume]) -> Run:
    """Write `volumes` into both bronze tables; `events` is how many were written."""
    started = time.perf_counter()
    written = sum(write_columns(volume, lake, BRONZE) for volume in volumes)
    return Run(time.perf_counter() - started, 0.0, written)


# --- in a child process -------------------------------------------------------------------------


def in_child(platform: Platform, kind: str, name: str, events: int) -> Run:
    """Run `--child kind name` in a fresh process over `platform`: its own timing, and its peak
    RSS from the kernel (ru_maxrss of the waited child)."""
    log = platform.folder / f"{kind}-{name}-{time.monotonic_ns()}.log"
    with log.open("wb") as errors, tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", kind, name],
            stdout=output,
            stderr=errors,
            env=platform.environment,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read().decode()
    if process.returncode != 0:
        last = (log.read_text().strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"`{kind} {name}` exited {process.returncode}: {last}")
    answer = json.loads(printed.strip().splitlines()[-1])
    if answer["failed"]:
        raise RuntimeError(f"{name}: " + "; ".join(answer["failed"]))
    slowest = tuple((model, seconds, rows) for model, seconds, rows in answer["slowest"])
    return Run(answer["seconds"], usage.ru_maxrss / 1024, events, slowest, answer["passes"])


def run_models(product_name: str) -> dict[str, Any]:
    """The product's models run until they have caught up, their runner built as `dataplatform
    models run` builds it: each pass bounded by `models.max_rows_per_run`."""
    from dataplatform.core.logging import configure_logging
    from dataplatform.core.processing import ModelRunner, create_engine

    product = get_product(product_name)
    settings = product.platform_settings()
    configure_logging(settings.log_level, settings.log_format)
    store = MetadataStore(settings.database_url)
    context = ProductConfigs(store).context_of(product)
    engine = create_engine(
        context.settings.engine,
        spark_master=context.settings.spark_master,
        spark_conf=context.settings.spark_conf,
    )
    lake = Lakehouse(settings.lake_root, settings.storage_options)
    runner = ModelRunner(
        product.model_graph(context),
        lake,
        store,
        engine,
        max_rows_per_run=settings.models.max_rows_per_run,
    )
    started = time.perf_counter()
    passes = runner.run_until_caught_up()
    seconds = time.perf_counter() - started
    results = [result for results in passes for result in results]
    spent: dict[str, tuple[float, int]] = {}  # model: seconds and rows read, over every pass
    for result in results:
        model = result.model.split(".", 1)[1]
        before = spent.get(model, (0.0, 0))
        spent[model] = (before[0] + result.duration_ms / 1000, before[1] + result.rows_in)
    by_time = sorted(spent.items(), key=lambda item: item[1][0], reverse=True)
    return {
        "seconds": seconds,
        "passes": len(passes),
        "failed": [f"{r.model}: {r.error}" for r in results if r.status == "failed"],
        "slowest": [(model, took, rows) for model, (took, rows) in by_time[:3]],
    }


def scan_bronze(table: str) -> dict[str, Any]:
    """DuckDB alone over the table's current Parquet files: the machine's yardstick."""
    files = Lakehouse(os.environ["DATAPLATFORM_LAKE_ROOT"]).table(table).file_uris()
    started = time.perf_counter()
    groups = duckdb.execute(SCAN, {"files": files}).fetchall()
    seconds = time.perf_counter() - started
    if not groups:
        raise RuntimeError(f"`{table}` has no rows to scan")
    return {"seconds": seconds, "passes": 1, "failed": [], "slowest": []}


# --- the models: history, full runs and ticks ---------------------------------------------------


def models_phase(platform: Platform, figures: SizeFigures, history: Volume) -> None:
    """The engine alone and the full run over the history, then each tick."""
    counts = attempt("counting bronze", partial(bronze_events, platform.lake))
    for kind, product in PRODUCTS.items():
        mine = figures.products[kind]
        if isinstance(counts, Failed):
            mine.engine = mine.full = counts
            continue
        scan = partial(in_child, platform, "scan", BRONZE[kind], counts[kind])
        mine.engine = attempt(f"{kind}: DuckDB alone", scan)
        mine.full = attempt(
            f"{kind}: full run", partial(in_child, platform, "models", product, counts[kind])
        )
    attempt("compacting the lake", partial(compact, platform.lake))
    for number, (label, share) in enumerate(TICKS.items(), start=1):
        events = max(2, round(figures.events * share))
        new = partial(arrive, platform.lake, history, events, SEED + 10 * number)
        arrived = attempt(f"{label} events", new)
        for kind, product in PRODUCTS.items():
            figures.products[kind].ticks[label] = (
                arrived
                if isinstance(arrived, Failed)
                else attempt(
                    f"{kind}: tick {label}",
                    partial(in_child, platform, "models", product, arrived[kind]),
                )
            )


def compact(lake: Lakehouse) -> None:
    """Compact every table of both products as the lake's scheduled maintenance does (each
    clustered table sorted by its key), whatever its count of small files."""
    started = time.perf_counter()
    for name in PRODUCTS.values():
        product = get_product(name)
        for table in product.tables:
            full_name = product.table_name(table.name)
            if lake.exists(full_name):
                policy = MaintenancePolicy(cluster_by=table.cluster_by, min_small_files=1)
                maintain(lake, full_name, policy)
    print(f"compacted the lake in {time.perf_counter() - started:.1f} s", file=sys.stderr)


# --- the gateway: a mixed load ------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    target_ms: float
    path: Callable[[random.Random], str]


def routes(lake: Lakehouse, history: Volume) -> list[Route]:
    """The four routes of the mixed load, each drawing its parameters at random: a day of the
    history, a user who has web sessions, 90 days ending in the last two weeks."""
    days = [history.start.date() + timedelta(days=day) for day in range(history.days)]
    ids = lake.read("web_user_analytics.gold.sessions", columns=["user_id"])["user_id"]
    known = sorted(pc.unique(ids.drop_null()).to_pylist())
    if not known:
        raise RuntimeError("web_user_analytics.gold.sessions has no signed-in user")
    users = random.Random(SEED).sample(known, min(1000, len(known)))
    recent = days[-14:]

    def one_day(rng: random.Random) -> str:
        day = rng.choice(days)
        return f"/web/sessions?from={day}&to={day}"

    def ninety_days(rng: random.Random) -> str:
        last = rng.choice(recent)
        return f"from={last - timedelta(days=89)}&to={last}"

    period, user = TARGET_P99_MS["period"], TARGET_P99_MS["user"]
    return [
        Route("`/web/sessions` (one day)", period, one_day),
        Route("`/web/users/{id}/sessions`", user, lambda rng: f"/web/users/{rng.choice(users)}/sessions"),
        Route("`/mobile/active-users` (90 days)", period, lambda rng: f"/mobile/active-users?{ninety_days(rng)}"),
        Route("`/mobile/retention` (90 days)", period, lambda rng: f"/mobile/retention?{ninety_days(rng)}"),
    ]  # fmt: skip


async def mixed_load(
    port: int, key: str, load: list[tuple[str, str]]
) -> tuple[dict[str, list[float]], dict[str, tuple[str, int]]]:
    """Send `load` (route, path) over `CONNECTIONS` keep-alive connections, each taking the next
    request when its answer is in: each route's latencies in ms, and its first refusal (path,
    status)."""
    pending = list(reversed(load))
    latencies: dict[str, list[float]] = {route: [] for route, _ in load}
    refused: dict[str, tuple[str, int]] = {}

    async def client(connection: Connection) -> None:
        while pending:
            route, path = pending.pop()
            request = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
                "Accept-Encoding: gzip\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            status = await connection.get(request)
            if status == 200:
                latencies[route].append((time.perf_counter() - started) * 1000)
            else:
                refused.setdefault(route, (path, status))

    connections = [await Connection.open(port) for _ in range(CONNECTIONS)]
    await asyncio.gather(*(client(connection) for connection in connections))
    return latencies, refused


def _ok(api: httpx.Client, path: str) -> Any:
    answer = api.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def load_phase(platform: Platform, figures: SizeFigures, history: Volume, port: int) -> None:
    """Each route warmed up once (connections, the first read of its tables), then every
    route's requests shuffled together."""
    chosen = attempt("choosing the routes' parameters", lambda: routes(platform.lake, history))
    if isinstance(chosen, Failed):
        figures.latencies["every route"] = chosen
        return
    rng = random.Random(SEED)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=_bearer(platform.api_key), timeout=300
    ) as api:
        warm = {
            route.name: attempt(f"warming up {route.name}", partial(_ok, api, route.path(rng)))
            for route in chosen
        }
        ready = [route for route in chosen if not isinstance(warm[route.name], Failed)]
        load = [(route.name, route.path(rng)) for route in ready for _ in range(REQUESTS_PER_ROUTE)]
        rng.shuffle(load)
        measured = attempt(
            "the mixed load", lambda: asyncio.run(mixed_load(port, platform.api_key, load))
        )
        for route in chosen:
            figures.targets_ms[route.name] = route.target_ms
            figures.latencies[route.name] = _outcome(api, route, warm[route.name], measured)


def _outcome(
    api: httpx.Client,
    route: Route,
    warm: object,
    measured: tuple[dict[str, list[float]], dict[str, tuple[str, int]]] | Failed,
) -> list[float] | Failed:
    """The route's latencies, or why there are none."""
    if isinstance(warm, Failed):
        return warm
    if isinstance(measured, Failed):
        return measured
    latencies, refused = measured
    if route.name not in refused:
        return latencies[route.name]
    path, status = refused[route.name]
    again = api.get(path)
    return Failed(
        f"{path} answered {status} under load; asked again, {again.status_code}: {again.text[:200]}"
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- freshness in continuous mode ---------------------------------------------------------------


def freshness_phase(platform: Platform, port: int) -> dict[str, list[float]]:
    """Beside both products' continuous runners: `FRESHNESS_EVENTS` page views, each sent at a
    random moment of the schedule; seconds until each route counts it."""
    schedule = platform.schedule_seconds()
    runners: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for product in PRODUCTS.values():
            runners.append(_start_runner(platform, product))
        for runner, log in runners:
            _wait_for_a_cycle(runner, log)
        rng = random.Random(SEED)
        seen: dict[str, list[float]] = {route: [] for route in TARGET_P95_SECONDS}
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, headers=_bearer(platform.api_key), timeout=60) as api:
            for _ in range(FRESHNESS_EVENTS):
                time.sleep(rng.uniform(0, schedule))
                for route, seconds in _one_event(api, url, platform.write_key).items():
                    seen[route].append(seconds)
        return seen
    finally:
        for runner, _ in runners:
            runner.terminate()
        for runner, _ in runners:
            _stop(runner)


def _start_runner(platform: Platform, product: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = platform.folder / f"{product}-continuous.log"
    command = [*CLI, "models", "run", "--product", product, "--continuous"]
    with log.open("wb") as output:
        runner = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=platform.environment
        )
    return runner, log


def _wait_for_a_cycle(runner: subprocess.Popen[bytes], log: Path) -> None:
    """Until the runner has reported its first cycle (its table of models' runs)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while "rows out" not in log.read_text():
        if runner.poll() is not None:
            tail = " / ".join(log.read_text().strip().splitlines()[-3:])
            raise RuntimeError(f"a continuous runner exited {runner.returncode}: {tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no continuous run finished within {WAIT_SECONDS:.0f} s ({log.name})"
            )
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _one_event(api: httpx.Client, url: str, write_key: str) -> dict[str, float]:
    """Send a new visitor's page view through the collector; seconds until each route counts
    one more (visitors now, sessions started around now) than just before it was sent."""
    now = datetime.now(UTC)
    around = f"from={_iso(now - timedelta(minutes=1))}&to={_iso(now + timedelta(hours=1))}"
    counts: dict[str, Callable[[], int]] = {
        "/web/realtime": lambda: _ok(api, "/web/realtime")["visitors"],
        "/web/sessions": lambda: len(_ok(api, f"/web/sessions?{around}")["rows"]),
    }
    before = {route: count() for route, count in counts.items()}
    sent = time.perf_counter()
    answer = httpx.post(
        f"{url}/v1/batch", json={"batch": [_page_view(now)]}, auth=(write_key, ""), timeout=60
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the collector answered {answer.status_code}: {answer.text[:300]}")
    seen: dict[str, float] = {}
    while len(seen) < len(counts):
        if time.perf_counter() - sent > WAIT_SECONDS:
            missing = ", ".join(route for route in counts if route not in seen)
            raise TimeoutError(f"{missing} did not count the event within {WAIT_SECONDS:.0f} s")
        for route, count in counts.items():
            if route not in seen and count() > before[route]:
                seen[route] = time.perf_counter() - sent
        time.sleep(0.1)
    return seen


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _page_view(at: datetime) -> dict[str, Any]:
    """A Segment `page` call from analytics.js in a browser never seen before."""
    page = {"url": "https://shop.example.com/", "path": "/", "referrer": "", "title": "Shop"}
    return {
        "type": "page",
        "name": "/",
        "anonymousId": f"bench-{uuid.uuid4()}",
        "messageId": str(uuid.uuid4()),
        "timestamp": at.isoformat(),
        "sentAt": at.isoformat(),
        "properties": page,
        "context": {"page": page, "userAgent": CHROME},
    }


# --- one history size ---------------------------------------------------------------------------


def measure_size(history: Volume) -> SizeFigures:
    """Every phase over one history, in a fresh lake and metadata store."""
    assert history.events is not None
    figures = SizeFigures(history.events, history.days, history.users)
    with tempfile.TemporaryDirectory(prefix="products-bench-") as scratch:
        platform = attempt("preparing the platform", lambda: Platform.create(Path(scratch)))
        if isinstance(platform, Failed):
            figures.generated = platform
            return figures
        figures.generated = attempt(
            "writing the history", lambda: generate(platform.lake, [history])
        )
        if isinstance(figures.generated, Failed):
            return figures
        models_phase(platform, figures, history)
        gateway_phase(platform, figures, history)
    return figures


def gateway_phase(platform: Platform, figures: SizeFigures, history: Volume) -> None:
    """The mixed load and the gateway's RSS after it, then freshness beside the runners."""
    gateway = attempt("starting the gateway", partial(_start_gateway, platform))
    if isinstance(gateway, Failed):
        figures.latencies["every route"] = figures.gateway_mb = figures.freshness = gateway
        return
    port, process = gateway
    try:
        load_phase(platform, figures, history, port)
        figures.gateway_mb = attempt(
            "the gateway's RSS", lambda: (resident_mb(process.pid), peak_rss_mb(process.pid))
        )
        figures.freshness = attempt("freshness", partial(freshness_phase, platform, port))
    finally:
        process.terminate()
        _stop(process)


def _start_gateway(platform: Platform) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    log = platform.folder / "gateway.log"
    try:
        return port, start([*CLI, "serve", "--port", str(port)], platform.environment, port, log)
    except RuntimeError as exc:
        tail = " / ".join(log.read_text().strip().splitlines()[-3:])
        raise RuntimeError(f"{exc}: {tail}") from exc


# --- the report ---------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _percent(share: float, digits: int = 1) -> str:
    return f"{share * 100:.{digits}f} %"


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def _slowest(run: Run | Failed) -> str:
    if isinstance(run, Failed):
        return str(run)
    return ", ".join(
        f"{model} {seconds:.2f} s ({rows:,} new input rows)" for model, seconds, rows in run.slowest
    )


def _engine(mine: ProductFigures) -> str:
    run = mine.engine
    if isinstance(run, Failed):
        return str(run)
    return f"{run.rate:,.0f} events/s ({run.events:,} events in {run.seconds:.2f} s)"


def _full(mine: ProductFigures) -> str:
    run, engine = mine.full, mine.engine
    if isinstance(run, Failed):
        return str(run)
    share = (
        ""
        if isinstance(engine, Failed)
        else f", {_percent(run.rate / engine.rate)} of DuckDB alone"
    )
    met = run.rate >= TARGET_EVENTS_PER_SECOND
    passes = f" in {run.passes} passes" if run.passes > 1 else " in one pass"
    return f"{run.seconds:,.1f} s{passes}: {run.rate:,.0f} events/s{share} ({_mark(met)})"


def _peak(mine: ProductFigures) -> str:
    run = mine.full
    if isinstance(run, Failed):
        return str(run)
    return f"{run.peak_mb:,.0f} MB ({_mark(run.peak_mb <= TARGET_RUNNER_MB)})"


def _tick(mine: ProductFigures, label: str) -> str:
    run = mine.ticks.get(label, Failed("not run"))
    if isinstance(run, Failed):
        return str(run)
    text = f"{run.seconds:.2f} s for {run.events:,} events"
    if label == SMALL_TICK:
        return f"{text} ({_mark(run.seconds <= TARGET_SMALL_TICK_SECONDS)})"
    if isinstance(mine.full, Failed):
        return f"{text} (no full run to compare)"
    share = run.seconds / mine.full.seconds
    return f"{text}: {_percent(share)} of the full run ({_mark(share <= TARGET_TICK_SHARE)})"


MODEL_ROWS: list[tuple[str, Callable[[ProductFigures], str], str]] = [
    ("DuckDB alone: bronze's Parquet files read and grouped by user and day", _engine, "the yardstick"),
    ("full run over the history", _full, f"at least {TARGET_EVENTS_PER_SECOND:,} events/s"),
    ("full run: peak RSS of the runner", _peak, f"at most {TARGET_RUNNER_MB / 1024:.0f} GB"),
    ("full run: slowest models", lambda mine: _slowest(mine.full), ""),
    *(
        row
        for label in TICKS
        for row in (
            (f"tick {label}", lambda mine, label=label: _tick(mine, label),
             f"at most {TARGET_SMALL_TICK_SECONDS:.0f} s per product" if label == SMALL_TICK
             else f"at most {_percent(TARGET_TICK_SHARE, 0)} of a full run"),
            (f"tick {label}: slowest models",
             lambda mine, label=label: _slowest(mine.ticks.get(label, Failed("not run"))), ""),
        )
    ),
]  # fmt: skip


def render_models(size: SizeFigures) -> list[str]:
    lines = ["| measurement | mobile | web | target (issue 16) |", "| --- | --- | --- | --- |"]
    for label, cell, target in MODEL_ROWS:
        cells = " | ".join(cell(size.products[kind]) for kind in PRODUCTS)
        lines.append(f"| {label} | {cells} | {target} |")
    return lines


def render_gateway(size: SizeFigures) -> list[str]:
    lines = [
        "| route (mixed load) | answers | p50 | p99 | target p99 |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for route, latencies in size.latencies.items():
        if isinstance(latencies, Failed):
            lines.append(f"| {route} | {latencies} | | | |")
            continue
        p99, target = percentile(latencies, 0.99), size.targets_ms[route]
        lines.append(
            f"| {route} | {len(latencies)} | {statistics.median(latencies):.1f} ms "
            f"| {p99:.1f} ms | at most {target:.0f} ms ({_mark(p99 <= target)}) |"
        )
    memory = size.gateway_mb
    if isinstance(memory, Failed):
        lines += ["", f"Gateway RSS after the load: {memory}."]
    else:
        met = _mark(memory[0] < TARGET_GATEWAY_MB)
        lines += [
            "",
            f"Gateway RSS after the load: {memory[0]:,.0f} MB (peak {memory[1]:,.0f} MB); target "
            f"under {TARGET_GATEWAY_MB / 1024:.0f} GB at 20M events ({met} at this size).",
        ]
    return lines


def render_freshness(size: SizeFigures) -> list[str]:
    if isinstance(size.freshness, Failed):
        return [f"Freshness: {size.freshness}."]
    lines = [
        f"| event counted by | events | p50 | p95 (of {FRESHNESS_EVENTS}: the slowest) | target p95 |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for route, seconds in size.freshness.items():
        p95, target = percentile(seconds, 0.95), TARGET_P95_SECONDS[route]
        lines.append(
            f"| `{route}` | {len(seconds)} | {statistics.median(seconds):.1f} s | {p95:.1f} s "
            f"| at most {target:.0f} s ({_mark(p95 <= target)}) |"
        )
    return lines


def render_size(size: SizeFigures) -> str:
    title = f"### {size.events:,} events of history ({size.days} days, {size.users:,} users)"
    written = size.generated
    if isinstance(written, Failed):
        return f"{title}\n\nHistory: {written}; nothing else was measured."
    return "\n".join(
        [
            title,
            "",
            f"History written in {written.seconds:.1f} s ({written.events:,} events with the "
            f"retries and late arrivals, {written.rate:,.0f} events/s).",
            "",
            *render_models(size),
            "",
            *render_gateway(size),
            "",
            *render_freshness(size),
        ]
    )


def render_growth(sizes: list[SizeFigures]) -> str:
    """The +0.01 % tick at each size: it should not grow with history."""
    label = SMALL_TICK
    heads = " | ".join(f"at {size.events:,}" for size in sizes)
    lines = [
        "### A small tick as history grows",
        "",
        f"| product | {heads} | at the largest / at the smallest history | target |",
        f"| --- | {' | '.join('---:' for _ in sizes)} | ---: | --- |",
    ]
    for kind in PRODUCTS:
        ticks = [size.products[kind].ticks.get(label, Failed("not run")) for size in sizes]
        cells = " | ".join(
            str(tick) if isinstance(tick, Failed) else f"{tick.seconds:.2f} s" for tick in ticks
        )
        by_history = sorted(zip(sizes, ticks, strict=True), key=lambda pair: pair[0].events)
        smallest, largest = by_history[0][1], by_history[-1][1]
        growth = (
            "n/a"
            if isinstance(smallest, Failed) or isinstance(largest, Failed)
            else f"{largest.seconds / smallest.seconds:.2f}x "
            f"({_mark(largest.seconds / smallest.seconds <= TARGET_SMALL_TICK_GROWTH)})"
        )
        lines.append(f"| {kind} | {cells} | {growth} | at most {TARGET_SMALL_TICK_GROWTH}x |")
    return "\n".join(lines)


def render(
    sizes: list[SizeFigures],
    command: str,
    started: datetime,
    minutes: float,
    loads: tuple[float, float],
) -> str:
    parts = [
        f"Command: `{command}` (`make bench` runs the default sizes), run "
        f"{started:%Y-%m-%d %H:%M} UTC; the whole run took {minutes:.1f} minutes.",
        f"Machine: {machine()}. 1-minute load average {loads[0]:.1f} before and {loads[1]:.1f} "
        f"after{_crowded(loads)}.",
        "Per history size, in a fresh lake: the history is written straight into both bronze "
        "tables by the columnar generator (the collector's envelope, about 4 % of the users "
        "active a day, ending yesterday); each product's models run over it in a child process "
        "built as `dataplatform models run` builds them, pass after pass until caught up, each "
        "pass reading at most `models.max_rows_per_run` rows of an input (time inside the "
        "child, peak RSS from the kernel), then after +0.01 % and after +1 % more events (on "
        "the latest day, a twentieth of them on the three days before). DuckDB alone reading "
        "and grouping the same bronze files is the yardstick. The gateway (`dataplatform serve`) "
        f"then answers {REQUESTS_PER_ROUTE} requests per route, shuffled together, over "
        f"{CONNECTIONS} keep-alive connections; freshness is measured beside both products' "
        "continuous runners, page views sent through the collector one at a time at random "
        "moments of the runners' schedule. A phase that failed shows its error in place of "
        "its figures (`benchmarks/products.py` says how each is measured).",
        *(render_size(size) for size in sizes),
    ]
    if len(sizes) > 1:
        parts.append(render_growth(sizes))
    return "\n\n".join(parts)


def _crowded(loads: tuple[float, float]) -> str:
    cores = os.cpu_count() or 1
    if max(loads) <= cores:
        return ""
    return (
        f": more runnable processes than the {cores} cores, so other work slowed these figures "
        "(compare ratios, or run again on a quiet machine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=DEFAULT_EVENTS)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--write", type=Path, help="replace the products section of this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, name = args.child
        print(json.dumps(run_models(name) if kind == "models" else scan_bronze(name)))
        return
    today = datetime.now(UTC).date()
    histories = [history_volume(events, args.days, today) for events in args.events]
    started_at, started, load_before = datetime.now(UTC), time.perf_counter(), os.getloadavg()[0]
    sizes = [measure_size(history) for history in histories]
    minutes = (time.perf_counter() - started) / 60
    command = (
        f".venv/bin/python benchmarks/products.py --events {' '.join(map(str, args.events))} "
        f"--days {args.days}"
    )
    report = render(sizes, command, started_at, minutes, (load_before, os.getloadavg()[0]))
    print(report)
    if args.write:
        write_section(args.write, SECTION, report)


if __name__ == "__main__":
    main()
