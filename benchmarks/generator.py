"""How fast `dataplatform generate --direct` fills bronze: the columnar path beside the per-event
one it replaced (each event a dict, normalised by the collector's code), in the same run.

    .venv/bin/python benchmarks/generator.py --events 2000000 --write docs/BENCHMARKS.md
"""

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _measure import machine, write_section

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.generator import TrafficGenerator, Volume, write_columns, write_to_bronze

BRONZE = {
    "mobile": "mobile_user_analytics.bronze.app_events",
    "web": "web_user_analytics.bronze.clickstream",
}
START = datetime(2026, 8, 1, tzinfo=UTC)


Timing = tuple[int, float, float]  # events written, wall seconds, CPU seconds of this process


def columnar(scratch: Path, users: int, days: int, events: int) -> Timing:
    lake = Lakehouse(scratch / "columnar")
    started, cpu = time.perf_counter(), time.process_time()
    written = write_columns(Volume(users, days, START, seed=1, events=events), lake, BRONZE)
    return written, time.perf_counter() - started, time.process_time() - cpu


def per_event(scratch: Path, users: int, days: int) -> Timing:
    lake = Lakehouse(scratch / "per-event")
    started, cpu = time.perf_counter(), time.process_time()
    written = write_to_bronze(TrafficGenerator(users, days, seed=1, start=START), lake, BRONZE)
    return written, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--baseline-users", type=int, default=300)
    parser.add_argument("--baseline-days", type=int, default=5)
    parser.add_argument("--write", type=Path, help="replace the generator section of this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        load_before = os.getloadavg()[0]
        baseline = per_event(Path(scratch), args.baseline_users, args.baseline_days)
        fast = columnar(Path(scratch), args.users, args.days, args.events)
        load_after = os.getloadavg()[0]
    rows = [
        ("per-event (dicts through the collector's normalisers)", *baseline, args.baseline_users, args.baseline_days),
        ("columnar (numpy + Arrow, `--direct`)", *fast, args.users, args.days),
    ]  # fmt: skip
    lines = [
        "| path | users | days | events written | seconds | events/s | CPU seconds | events per CPU second |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {name} | {users:,} | {days} | {written:,} | {seconds:.1f} | {written / seconds:,.0f} "
            f"| {cpu:.1f} | {written / cpu:,.0f} |"
            for name, written, seconds, cpu, users, days in rows
        ),
    ]
    speedup = (fast[0] / fast[1]) / (baseline[0] / baseline[1])
    table = "\n".join(lines) + f"\n\nColumnar / per-event, wall clock: {speedup:.0f}x."
    print(table)
    if args.write:
        write_section(
            args.write,
            "Generator",
            f"Command: `.venv/bin/python benchmarks/generator.py --events {args.events} "
            f"--users {args.users} --days {args.days}`, run "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; both paths write both "
            "bronze tables (Delta, one commit per table per ~1M events) on local disk.\n\n"
            f"Machine: {machine()}; `nproc` {_shell('nproc')}, `free -g` total "
            f"{_shell('free -g').split()[7]} GiB. 1-minute load average {load_before:.1f} before "
            f"and {load_after:.1f} after (other work shared the cores).\n\n{table}\n\n"
            "Target (issue 16): 500,000 events/s. Per million events, profiled on this machine, "
            "the columnar path spends about 3.5 CPU seconds drawing the columns and building the "
            "JSON strings (most of it DuckDB's `concat`, which replaced Arrow's slower "
            "`binary_join_element_wise`) and about 2.7 in delta-rs encoding and compressing the "
            "~1.2 KB of `raw`, `context` and `properties` a row carries.\n",
        )


def _shell(command: str) -> str:
    return subprocess.run(
        command.split(), capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    main()
