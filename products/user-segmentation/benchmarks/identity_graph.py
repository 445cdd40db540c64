"""One tick of the identity models over a large graph, beside a full rebuild in the same run.

    .venv/bin/python products/user-segmentation/benchmarks/identity_graph.py --links 1000000

Writes the two products' gold.identity_links (people with one to four browsers or installs,
1 % of them on a device shared with someone else), runs silver.identity_links,
silver.identity_graph and gold.identity_graph once, then merges `--tick` new links (new people,
new devices of known people, links joining two known people) and times the incremental tick,
then a full rebuild (`--full-refresh`) of the same links.
"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner, RunResult
from user_segmentation.product import product

MODELS = ["silver.identity_links", "silver.identity_graph", "gold.identity_graph"]
UPSTREAM = ("web_user_analytics.gold.identity_links", "mobile_user_analytics.gold.identity_links")
PAIR = ["user_id", "anonymous_id"]
START = datetime(2026, 11, 1, tzinfo=UTC)
TIME = pa.timestamp("us", tz="UTC")


def history(links: int, seed: int) -> pa.Table:
    """About `links` links: each person's user id with one to four devices of their own."""
    rng = np.random.default_rng(seed)
    devices = np.minimum(rng.poisson(1.5, links) + 1, 4)
    devices = devices[: np.searchsorted(np.cumsum(devices), links) + 1]
    users = np.repeat(np.arange(len(devices)), devices)[:links]
    anonymous = np.arange(links)
    shared = rng.random(links) < 0.01  # signed in on someone else's device as well
    anonymous[shared] = rng.integers(0, links, int(shared.sum()))
    minutes = rng.integers(0, 60 * 24 * 90, links).astype("timedelta64[m]")
    seen = pa.array(np.datetime64(START.replace(tzinfo=None), "us") + minutes, TIME)
    spans = (
        pa.table(
            {
                "user_id": [f"u{user}" for user in users],
                "anonymous_id": [f"d{device}" for device in anonymous],
                "first_linked_at": seen,
                "last_linked_at": seen,
            }
        )
        .group_by(PAIR)
        .aggregate([("first_linked_at", "min"), ("last_linked_at", "max")])
    )
    return spans.rename_columns(
        {"first_linked_at_min": "first_linked_at", "last_linked_at_max": "last_linked_at"}
    )


def tick(links: int) -> pa.Table:
    """Ten new links: four new people, three new devices of known people, three joins."""
    new = [(f"new{i}", f"new-device{i}") for i in range(4)]
    devices = [(f"u{i * 1000}", f"another-device{i}") for i in range(3)]
    joins = [(f"u{i * 7919}", f"d{links - 1 - i * 104729}") for i in range(3)]
    at = START + timedelta(days=91)
    pairs = new + devices + joins
    return pa.table(
        {
            "user_id": [user for user, _ in pairs],
            "anonymous_id": [anonymous for _, anonymous in pairs],
            "first_linked_at": pa.array([at] * len(pairs)),
            "last_linked_at": pa.array([at] * len(pairs)),
        }
    )


def run(runner: ModelRunner, *, full_refresh: bool) -> tuple[float, list[RunResult]]:
    started = time.perf_counter()
    results = runner.run(MODELS, full_refresh=full_refresh)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.status != "succeeded"]
    if failed:
        raise SystemExit(f"a model failed: {failed}")
    return elapsed, results


def report(label: str, elapsed: float, results: list[RunResult]) -> str:
    per_model = ", ".join(
        f"{r.model.split('.', 1)[1]} {r.duration_ms / 1000:.2f} s ({r.rows_in:,} in, {r.rows_out:,} out)"
        for r in results
    )
    return f"| {label} | {elapsed:.2f} | {per_model} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lake = Lakehouse(Path(folder) / "lake")
        store = MetadataStore(f"sqlite:///{Path(folder) / 'runs.db'}")
        store.upgrade()
        runner = ModelRunner(product.model_graph(), lake, store)
        links = history(arguments.links, arguments.seed)
        half = links.num_rows // 2
        lake.append(UPSTREAM[0], links.slice(0, half))
        lake.append(UPSTREAM[1], links.slice(half))
        first = run(runner, full_refresh=False)
        lake.merge(UPSTREAM[0], tick(arguments.links), PAIR)
        incremental = run(runner, full_refresh=False)
        full = run(runner, full_refresh=True)
        graph = lake.dataset(product.context().table("silver.identity_graph")).count_rows()
    lines = [
        f"{links.num_rows:,} links, {graph:,} ids in the graph; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        "",
        "| run | seconds | per model |",
        "| --- | ---: | --- |",
        report("first run (every link)", *first),
        report("tick of 10 new links, incremental", *incremental),
        report("full rebuild of the same links (`--full-refresh`)", *full),
        "",
        f"tick / full: {incremental[0] / full[0]:.1%}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
