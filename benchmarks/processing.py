"""Processing: 10M events through bronze -> silver -> gold on DuckDB, Spark local[2] and pandas.

    make bench            (or: .venv/bin/python benchmarks/processing.py --write docs/BENCHMARKS.md)

The workload: app events (iOS, Android) and web events in two bronze tables, about 1 % of them
SDK retries; the models in benchmarks/models dedup them into silver, split sessions after 30
minutes without events, count 1-minute windows per platform and app version, and keep a
per-user summary. DuckDB and Spark run those same SQL files through the model runner; pandas
runs the same logic written by hand. Each engine runs in its own process, from the same bronze
tables in its own copy of the lake, and its whole process tree's peak memory is sampled.
Then 1 % more events arrive and DuckDB runs incrementally.
"""

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _measure import TreeMemory, machine, write_section

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    DuckDBEngine,
    ModelRunner,
    SparkEngine,
    build_graph,
    load_sql_models,
)

PRODUCT = "bench"
MODELS = Path(__file__).with_name("models")
APP, PAGE = f"{PRODUCT}.bronze.app_events", f"{PRODUCT}.bronze.page_events"
OUTPUTS = ("silver.events", "silver.sessions", "gold.activity_1m", "gold.user_summary")
START = datetime(2026, 11, 1, tzinfo=UTC)
WEEK = 7 * 86_400
TARGET_EVENTS_PER_SECOND = 1_000_000
BRONZE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("platform", pa.string()),
        ("app_version", pa.string()),
        ("event", pa.string()),
        ("amount", pa.float64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
    ]
)


# --- the workload -------------------------------------------------------------------------------


def generate(
    count: int, users: int, start_seconds: float, span_seconds: float, first_id: int, seed: int
) -> tuple[pa.Table, pa.Table]:
    """`count` events (app and web) of sessions of about 10 events, ~1 % of them retried."""
    rng = np.random.default_rng(seed)
    originals = count - count // 100
    sessions = originals // 9 + 1  # about 10 events each: more than enough, the last are cut
    per_session = rng.poisson(9, sessions) + 1
    session_of = np.repeat(np.arange(sessions), per_session)[:originals]
    session_start = start_seconds + rng.uniform(0, span_seconds - 3600, sessions)
    gaps = rng.exponential(45.0, originals)
    elapsed = np.cumsum(gaps)
    first_of_session = np.searchsorted(
        session_of, session_of
    )  # index of each session's first event
    seconds = (
        session_start[session_of] + elapsed - elapsed[first_of_session] + gaps[first_of_session]
    )
    user = rng.integers(0, users, sessions)[session_of]
    kind = user % 5  # 0, 1: iOS; 2: Android; 3, 4: web
    draw = rng.random(originals)
    app_event = np.where(
        draw < 0.02,
        "purchase",
        np.where(draw < 0.025, "crash", np.where(draw < 0.3, "tap", "screen_view")),
    )
    web_event = np.where(draw < 0.02, "purchase", np.where(draw < 0.3, "click", "page_view"))
    event = np.where(kind >= 3, web_event, app_event)
    amount = np.where(draw < 0.02, np.round(rng.gamma(2.0, 15.0, originals), 2), np.nan)
    ids = np.arange(first_id, first_id + originals)
    # Retries: the same event sent again, identical, so any engine may keep either copy.
    retried = rng.choice(originals, count - originals, replace=False)
    columns = [ids, seconds, user, kind, event, amount]
    ids, seconds, user, kind, event, amount = (
        np.concatenate([column, column[retried]]) for column in columns
    )
    order = np.argsort(seconds, kind="stable")
    ids, seconds, user, kind, event, amount = (
        column[order] for column in (ids, seconds, user, kind, event, amount)
    )
    is_web = kind >= 3
    table = pa.table(
        {
            "event_id": pc.cast(pa.array(ids), pa.string()),
            "user_id": pc.binary_join_element_wise("u", pc.cast(pa.array(user), pa.string()), ""),
            "platform": pa.array(np.where(kind == 2, "android", np.where(is_web, "web", "ios"))),
            "app_version": pa.array(np.array(["3.1.0", "3.2.0", "3.2.1", "4.0.0"])[user % 4]),
            "event": pa.array(event),
            "amount": pa.array(amount, from_pandas=True),
            "timestamp": pa.array(
                (seconds * 1_000_000).astype("int64"), pa.timestamp("us", tz="UTC")
            ),
        },
        schema=BRONZE_SCHEMA,
    )
    web = pa.array(is_web)
    return table.filter(pc.invert(web)), table.filter(web)


def write_bronze(lake: Lakehouse, app: pa.Table, page: pa.Table) -> None:
    lake.append(APP, app)
    lake.append(PAGE, page)


# --- one engine, in a child process ---------------------------------------------------------------


def run_models(lake_root: Path, database: Path, engine_name: str) -> dict[str, float]:
    store = MetadataStore(f"sqlite:///{database}")
    store.upgrade()
    engine = (
        SparkEngine("local[2]", {"spark.driver.memory": "8g"})
        if engine_name == "spark"
        else DuckDBEngine()
    )
    started = time.perf_counter()
    if isinstance(engine, SparkEngine):
        engine.session()  # the JVM's start-up is reported, not counted in the pipeline's time
    startup = time.perf_counter() - started
    graph = build_graph(
        PRODUCT, load_sql_models(MODELS), ["bronze.app_events", "bronze.page_events"]
    )
    started = time.perf_counter()
    results = ModelRunner(graph, Lakehouse(lake_root), store, engine).run()
    seconds = time.perf_counter() - started
    failed = [f"{r.model}: {r.error}" for r in results if r.status != "succeeded"]
    if failed:
        raise SystemExit("models failed: " + "; ".join(failed))
    return {"seconds": seconds, "startup_seconds": startup}


def run_pandas(lake_root: Path) -> dict[str, float]:
    """The same pipeline written in pandas, reading and writing the same Delta tables."""
    import pandas as pd

    lake = Lakehouse(lake_root)
    started = time.perf_counter()
    events = pd.concat([lake.read(APP).to_pandas(), lake.read(PAGE).to_pandas()], ignore_index=True)
    events["app_version"] = events["app_version"].where(events["platform"] != "web", None)
    events = events.sort_values("timestamp", kind="stable").drop_duplicates(
        "event_id", keep="first"
    )
    lake.overwrite(f"{PRODUCT}.silver.events", pa.Table.from_pandas(events, preserve_index=False))

    by_user = events[["user_id", "timestamp"]].sort_values(["user_id", "timestamp"], kind="stable")
    gap = by_user.groupby("user_id")["timestamp"].diff()
    by_user["session_number"] = (gap.isna() | (gap > pd.Timedelta(minutes=30))).cumsum()
    sessions = (
        by_user.groupby("session_number")
        .agg(
            user_id=("user_id", "first"),
            started_at=("timestamp", "min"),
            ended_at=("timestamp", "max"),
            events=("timestamp", "size"),
        )
        .reset_index(drop=True)
    )
    sessions.insert(
        0,
        "session_id",
        [
            hashlib.md5(f"{u}{t}".encode()).hexdigest()
            for u, t in zip(sessions["user_id"], sessions["started_at"], strict=True)
        ],
    )
    lake.overwrite(
        f"{PRODUCT}.silver.sessions", pa.Table.from_pandas(sessions, preserve_index=False)
    )

    events["minute"] = events["timestamp"].dt.floor("min")
    events["app_version"] = events["app_version"].fillna("")
    events["is_purchase"] = events["event"] == "purchase"
    events["is_crash"] = events["event"] == "crash"
    activity = (
        events.groupby(["minute", "platform", "app_version"])
        .agg(
            events=("event_id", "size"),
            active_users=("user_id", "nunique"),
            purchases=("is_purchase", "sum"),
            crashes=("is_crash", "sum"),
            revenue=("amount", "sum"),
        )
        .reset_index()
    )
    lake.overwrite(
        f"{PRODUCT}.gold.activity_1m", pa.Table.from_pandas(activity, preserve_index=False)
    )

    summary = (
        events.groupby("user_id")
        .agg(
            first_seen=("timestamp", "min"),
            last_seen=("timestamp", "max"),
            events=("event_id", "size"),
            purchases=("is_purchase", "sum"),
            revenue=("amount", "sum"),
        )
        .reset_index()
    )
    lake.overwrite(
        f"{PRODUCT}.gold.user_summary", pa.Table.from_pandas(summary, preserve_index=False)
    )
    return {"seconds": time.perf_counter() - started, "startup_seconds": 0.0}


# --- orchestration --------------------------------------------------------------------------------


def in_child(engine: str, lake_root: Path, database: Path) -> tuple[dict[str, float], float]:
    """Run one engine in a fresh process; its timings, and its process tree's peak memory in MB."""
    command = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--lake",
        str(lake_root),
        "--database",
        str(database),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    memory = TreeMemory(process)
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {process.returncode})")
    return json.loads(output.decode().strip().splitlines()[-1]), memory.peak_mb


def fingerprint(lake_root: Path) -> dict[str, object]:
    """Row counts and totals the engines must agree on."""
    lake = Lakehouse(lake_root)
    tables = {name: lake.read(f"{PRODUCT}.{name}") for name in OUTPUTS}
    activity, summary = tables["gold.activity_1m"], tables["gold.user_summary"]
    return {
        **{name: table.num_rows for name, table in tables.items()},
        "window events": pc.sum(activity["events"]).as_py(),
        "window active users": pc.sum(activity["active_users"]).as_py(),
        "revenue": pc.sum(summary["revenue"]).as_py(),
        "session events": pc.sum(tables["silver.sessions"]["events"]).as_py(),
    }


def agree(found: dict[str, object], reference: dict[str, object]) -> bool:
    """Equal, but floats only to 1e-9: engines add doubles in different orders."""
    return found.keys() == reference.keys() and all(
        math.isclose(value, reference[key], rel_tol=1e-9)  # type: ignore[arg-type]
        if isinstance(value, float)
        else value == reference[key]
        for key, value in found.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--engines", default="duckdb,spark,pandas")
    parser.add_argument(
        "--write", type=Path, help="replace the processing section of this Markdown file"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        timings = (
            run_pandas(args.lake)
            if args.child == "pandas"
            else run_models(args.lake, args.database, args.child)
        )
        print(json.dumps(timings))
        return
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        rows = measure(Path(scratch), engines, args.events, args.users)
    table = report(rows)
    print(table)
    if args.write:
        write_section(
            args.write,
            "Processing",
            f"Command: `make bench` (`benchmarks/processing.py --events {args.events} --users {args.users} --engines {args.engines}`), "
            f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
            f"Machine: {machine()}. Each engine runs alone in its own process.\n\n"
            "Workload: the models in `benchmarks/models/` (dedup, sessionisation after 30 idle minutes, "
            "1-minute windows with distinct users, per-user summary), from two bronze Delta tables to four "
            "output Delta tables, writes included. Spark reads the same SQL transpiled by SQLGlot; pandas is the "
            "same logic by hand. The outputs of the engines are compared (row counts and totals) before any "
            "figure is reported.\n\n"
            f"{table}\n",
        )


def measure(scratch: Path, engines: list[str], events: int, users: int) -> list[dict[str, object]]:
    template = scratch / "bronze"
    write_bronze(Lakehouse(template), *generate(events, users, START.timestamp(), WEEK, 0, seed=7))
    rows: list[dict[str, object]] = []
    outputs = {}
    for engine in engines:
        lake_root = scratch / engine
        shutil.copytree(template, lake_root)
        timings, peak = in_child(engine, lake_root, scratch / f"{engine}.db")
        outputs[engine] = fingerprint(lake_root)
        rows.append({"run": f"full, {engine}", "events": events, **timings, "peak_mb": peak})
    reference = outputs[engines[0]]
    for engine, found in outputs.items():
        if not agree(found, reference):
            raise SystemExit(f"{engine} disagrees with {engines[0]}: {found} != {reference}")
    if "duckdb" in engines:
        more = events // 100
        app, page = generate(more, users, START.timestamp() + WEEK, 3600, events * 2, seed=8)
        write_bronze(Lakehouse(scratch / "duckdb"), app, page)
        timings, peak = in_child("duckdb", scratch / "duckdb", scratch / "duckdb.db")
        rows.append(
            {"run": "incremental (+1 %), duckdb", "events": more, **timings, "peak_mb": peak}
        )
    return rows


def report(rows: list[dict[str, object]]) -> str:
    by_run = {str(row["run"]): row for row in rows}
    duckdb = by_run.get("full, duckdb")
    lines = [
        "| run | events | seconds | events/s | peak memory (process tree) | DuckDB's speed-up over it | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        rate = int(row["events"]) / seconds  # type: ignore[call-overload]
        speedup, target = "", ""
        if duckdb is not None and row is not duckdb and str(row["run"]).startswith("full"):
            speedup = f"{seconds / float(duckdb['seconds']):.1f}x"  # type: ignore[arg-type]
            target = "DuckDB at least 5x" if "spark" in str(row["run"]) else "DuckDB at least 3x"
        elif row is duckdb:
            target = f"at least {TARGET_EVENTS_PER_SECOND:,} events/s, at most 4 GB"
        elif duckdb is not None:
            fraction = seconds / float(duckdb["seconds"])  # type: ignore[arg-type]
            speedup = f"{fraction:.1%} of the full run"
            target = "at most 5 % of the full run"
        startup = float(row.get("startup_seconds", 0.0))  # type: ignore[arg-type]
        note = f" (+{startup:.1f} s JVM start, not counted)" if startup > 0.5 else ""
        lines.append(
            f"| {row['run']} | {int(row['events']):,} | {seconds:.2f}{note} | {rate:,.0f} | {float(row['peak_mb']):,.0f} MB | {speedup} | {target} |"  # type: ignore[call-overload, arg-type]
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
