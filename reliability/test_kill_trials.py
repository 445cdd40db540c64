"""Part 2: kill -9 at random moments of ingestion and of model runs, then a restart. Nothing
acknowledged is lost or stored twice, and gold after the kills equals gold of an uninterrupted
run over the same input. `--kill-trials` is shared by the three kinds."""

import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _harness import CLI, Platform, Report, new_platform

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.collector import free_port
from dataplatform.testing import MOBILE, Traffic, start_collector_process

PRODUCT = "mobile-user-analytics"
RESULTS: dict[str, str] = {}  # kind -> its table row


def trials_of(size: Any, kind: int) -> int:
    """This kind's share of `--kill-trials` (kinds 0, 1, 2 take the first, second, third)."""
    total = size("--kill-trials")
    return total // 3 + (1 if kind < total % 3 else 0)


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def stored_ids(lake_root: Path) -> Counter[str]:
    lake = Lakehouse(lake_root)
    return Counter(lake.read(MOBILE)["event_id"].to_pylist()) if lake.exists(MOBILE) else Counter()


def record(report: Report, kind: str, row: str) -> None:
    RESULTS[kind] = row
    report.add(
        "kill -9 trials",
        "Each trial: a random wait (seeded), `kill -9`, a restart. Ingestion trials run under "
        f"three clients sending Segment batches of {Traffic.BATCH}; runner trials copy a fresh "
        f"bronze of `{PRODUCT}` (the generator's 50 users over 2 days), kill "
        "`dataplatform models run` mid-run, run it again to the end, and compare every gold table "
        "with an uninterrupted run over the same bronze.\n\n"
        "| what was killed | trials | acknowledged / compared | lost | duplicated | gold differs |\n"
        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(RESULTS[k] for k in sorted(RESULTS)),
    )


def losses(acknowledged: list[str], stored: Counter[str]) -> tuple[list[str], list[str]]:
    lost = [event for event in acknowledged if stored[event] == 0]
    return lost, [event for event, count in stored.items() if count > 1]


def test_collector_killed_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, size: Any, report: Report
) -> None:
    trials, rng = trials_of(size, 0), random.Random(size("--seed"))
    platform = new_platform(tmp_path)
    acknowledged: list[str] = []
    for _ in range(trials):
        port = free_port()
        collector = start_collector_process(platform.env, port)
        with Traffic(f"http://127.0.0.1:{port}", platform.ios_key) as traffic:
            traffic.wait_for(Traffic.BATCH)  # traffic flows
            time.sleep(rng.uniform(0, 1.5))
            kill(collector)
        acknowledged += traffic.acknowledged

    lost, duplicated = losses(acknowledged, stored_ids(platform.lake_root))
    record(
        report,
        "1 collector (embedded bus)",
        f"| collector, embedded bus | {trials} | {len(acknowledged)} events | {len(lost)} | {len(duplicated)} | - |",
    )
    assert (lost[:10], duplicated[:10]) == ([], [])


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLI, "ingest", "run", "--product", PRODUCT],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def committed(lake_root: Path, after: int) -> int:
    """Bronze's version once the worker has committed past `after` (or after 5 minutes): reading
    the log's head only, since reading every stored id at each trial grew with the history."""
    lake, deadline = Lakehouse(lake_root), time.monotonic() + 300
    while time.monotonic() < deadline:
        version = lake.table(MOBILE).version() if lake.exists(MOBILE) else -1
        if version > after:
            return version
        time.sleep(0.2)
    return after


def drained(lake_root: Path, count: int) -> Counter[str]:
    """The stored ids once the worker has written at least `count` events (or after 5 minutes)."""
    deadline = time.monotonic() + 300
    while sum((stored := stored_ids(lake_root)).values()) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return stored


@pytest.mark.redis
def test_ingestion_worker_killed_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, redis_url: str, size: Any, report: Report
) -> None:
    trials, rng = trials_of(size, 1), random.Random(size("--seed"))
    platform = new_platform(tmp_path, bus="redis", redis_url=redis_url)
    port = free_port()
    collector = start_collector_process(platform.env, port)
    worker = start_worker(platform.env)
    try:
        with Traffic(f"http://127.0.0.1:{port}", platform.ios_key) as traffic:
            version = -1
            for _ in range(trials):
                version = committed(platform.lake_root, version)  # the new worker writes
                time.sleep(rng.uniform(0, 1.5))
                kill(worker)
                worker = start_worker(platform.env)
        stored = drained(platform.lake_root, len(traffic.acknowledged))
    finally:
        stop(worker)
        stop(collector)

    lost, duplicated = losses(traffic.acknowledged, stored)
    record(
        report,
        "2 worker (Redis bus)",
        f"| `ingest run` worker, Redis bus | {trials} | {len(traffic.acknowledged)} events | {len(lost)} | {len(duplicated)} | - |",
    )
    assert (lost[:10], duplicated[:10]) == ([], [])


def run_models(env: dict[str, str], kill_after: float | None = None) -> int:
    """`dataplatform models run` to its end, or killed after `kill_after` s; its exit code."""
    process = subprocess.Popen(
        [CLI, "models", "run", "--product", PRODUCT],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return process.wait(timeout=kill_after or 600)
    except subprocess.TimeoutExpired:
        kill(process)
        return -signal.SIGKILL


def gold(lake_root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every gold table of the product, its rows sorted."""
    lake, tables = Lakehouse(lake_root), {}
    for folder in sorted((lake_root / "mobile_user_analytics" / "gold").iterdir()):
        table: pa.Table = lake.read(f"mobile_user_analytics.gold.{folder.name}")
        tables[folder.name] = sorted(table.to_pylist(), key=repr)
    return tables


def bronze_copy(template: Platform, folder: Path) -> dict[str, str]:
    """A fresh platform in `folder` whose lake holds `template`'s bronze only."""
    folder.mkdir()
    shutil.copy(template.lake_root.parent / "metadata.db", folder / "metadata.db")
    bronze = template.lake_root / "mobile_user_analytics" / "bronze"
    shutil.copytree(bronze, folder / "lake" / "mobile_user_analytics" / "bronze")
    return {
        **template.env,
        "DATAPLATFORM_LAKE_ROOT": str(folder / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{folder / 'metadata.db'}",
    }


def test_model_runner_killed_mid_run_gives_the_gold_of_an_uninterrupted_run(
    tmp_path: Path, size: Any, report: Report
) -> None:
    trials, rng = trials_of(size, 2), random.Random(size("--seed"))
    template = new_platform(tmp_path / "template")
    generate = [
        CLI,
        "generate",
        "--users",
        "50",
        "--days",
        "2",
        "--start",
        "2026-03-01",
        "--direct",
    ]
    subprocess.run(generate, env=template.env, check=True, capture_output=True, timeout=600)

    reference_env = bronze_copy(template, tmp_path / "reference")
    started = time.monotonic()
    assert run_models(reference_env) == 0
    clean_run = time.monotonic() - started
    expected = gold(Path(reference_env["DATAPLATFORM_LAKE_ROOT"]))

    differing, killed = [], 0
    for trial in range(trials):
        env = bronze_copy(template, tmp_path / f"trial-{trial}")
        killed += run_models(env, kill_after=rng.uniform(0.2, clean_run)) == -signal.SIGKILL
        assert run_models(env) == 0, f"trial {trial}: the run after the kill failed"
        if gold(Path(env["DATAPLATFORM_LAKE_ROOT"])) != expected:
            differing.append(trial)

    record(
        report,
        "3 model runner",
        f"| `models run` of {PRODUCT} ({killed} killed mid-run, {trials - killed} finished first) | {trials} | {len(expected)} gold tables | - | - | {len(differing)} |",
    )
    assert differing == []
