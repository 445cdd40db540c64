"""DuckDB against Spark on the real mobile and web products (issue 17): the same history in two
lakes, each product's models run over it until caught up, once per engine.

    .venv/bin/python benchmarks/engines.py --events 2000000 --days 90 --write docs/BENCHMARKS.md

The history is written as `benchmarks/products.py` writes it (the columnar generator, the
collector's envelope, about 4 % of the users active a day), into one lake, then copied to a
second before any model runs. Each full run happens in a child process built as `dataplatform
models run` builds it (passes bounded by `models.max_rows_per_run`), the product's `engine`
setting `duckdb` in one and `spark` in the other: Spark in local mode on this machine's cores,
with Delta Lake's connector, publishing each model's output itself. DuckDB alone reading and
grouping the same bronze files is the yardstick the products benchmark uses.
"""

import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from _measure import machine, write_section

from products import (
    BRONZE,
    PRODUCTS,
    Failed,
    Platform,
    Run,
    attempt,
    bronze_events,
    generate,
    history_volume,
    in_child,
)

SECTION = "Engines: DuckDB and Spark on the real products"


@dataclasses.dataclass
class EngineFigures:
    events: int
    scan: Run | Failed
    runs: dict[str, Run | Failed]  # by engine


def with_engine(platform: Platform, product: str, engine: str) -> Platform:
    """The platform whose processes run `product`'s models on `engine`."""
    setting = f"DATAPLATFORM_{product.upper().replace('-', '_')}_ENGINE"
    return dataclasses.replace(platform, environment={**platform.environment, setting: engine})


def measure(history_events: int, days: int, folder: Path) -> dict[str, EngineFigures]:
    history = history_volume(history_events, days, datetime.now(UTC).date())
    lakes = {engine: Platform.create(folder / engine) for engine in ("duckdb", "spark")}
    generate(lakes["duckdb"].lake, [history])
    shutil.rmtree(folder / "spark" / "lake", ignore_errors=True)
    shutil.copytree(folder / "duckdb" / "lake", folder / "spark" / "lake")
    counts = bronze_events(lakes["duckdb"].lake)
    figures = {}
    for kind, product in PRODUCTS.items():
        scan = attempt(
            f"{kind}: DuckDB alone",
            partial(in_child, lakes["duckdb"], "scan", BRONZE[kind], counts[kind]),
        )
        runs: dict[str, Run | Failed] = {}
        for engine, platform in lakes.items():
            child = with_engine(platform, product, engine)
            runs[engine] = attempt(
                f"{kind} on {engine}", partial(in_child, child, "models", product, counts[kind])
            )
        figures[kind] = EngineFigures(counts[kind], scan, runs)
    return figures


def _run(run: Run | Failed) -> str:
    if isinstance(run, Failed):
        return str(run)
    return f"{run.seconds:,.1f} s ({run.rate:,.0f} events/s, {run.passes} passes)"


def _ratio(figures: EngineFigures) -> str:
    duck, spark = figures.runs["duckdb"], figures.runs["spark"]
    if isinstance(duck, Failed) or isinstance(spark, Failed):
        return "n/a"
    return f"{spark.seconds / duck.seconds:.1f}x"


def render(
    figures: dict[str, EngineFigures], command: str, started: datetime, loads: tuple[float, float]
) -> str:
    rows = [
        "| product | events | DuckDB alone (yardstick) | full run on DuckDB | full run on Spark | Spark / DuckDB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, mine in figures.items():
        scan = mine.scan if isinstance(mine.scan, Failed) else f"{mine.scan.seconds:.1f} s"
        rows.append(
            f"| {kind} | {mine.events:,} | {scan} | {_run(mine.runs['duckdb'])} | "
            f"{_run(mine.runs['spark'])} | {_ratio(mine)} |"
        )
    return "\n\n".join(
        [
            f"Command: `{command}`, run {started:%Y-%m-%d %H:%M} UTC.",
            f"Machine: {machine()}. 1-minute load average {loads[0]:.1f} before and "
            f"{loads[1]:.1f} after.",
            "The same history in two lakes; each product's models run until caught up in a "
            "child process, once with `engine: duckdb` and once with `engine: spark` (local "
            "mode on this machine's cores, Delta Lake's connector, Spark committing each "
            "model's output itself). Time inside the child; Spark's includes starting its JVM. "
            "On one machine Spark pays for its scheduling and shuffles without the executors "
            "that would earn them back: the figure says what a switch costs here, not what a "
            "cluster gives (docs/scale-out.md).",
            "\n".join(rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--write", type=Path, help="replace the engines section of this file")
    args = parser.parse_args()
    started, load_before = datetime.now(UTC), os.getloadavg()[0]
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="engines-bench-") as folder:
        figures = measure(args.events, args.days, Path(folder))
    command = f".venv/bin/python benchmarks/engines.py --events {args.events} --days {args.days}"
    report = render(figures, command, started, (load_before, os.getloadavg()[0]))
    report += f"\n\nThe whole run took {(time.perf_counter() - begun) / 60:.1f} minutes."
    print(report)
    if args.write:
        write_section(args.write, SECTION, report)


if __name__ == "__main__":
    main()
