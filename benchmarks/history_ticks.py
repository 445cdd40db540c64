"""The same tick over more history (issue 16): does a tick cost what it adds, or what is held?

    .venv/bin/python benchmarks/history_ticks.py --write docs/BENCHMARKS.md

`benchmarks/products.py` keeps 90 days and scales the users, so its small tick at 20M events
carries ten times the events of the one at 2M, on days ten times as busy. Here the arrival is
the same in every lake: for each lake (`--lakes EVENTS:DAYS ...`, by default 2M events over 9
days, which have the daily volume of 20M over 90; 2M over 90 days; and 20M over 90 days), in a
fresh folder, `products.py` builds it as it does (history straight into bronze, each product's
full run in a child process, the scheduled compaction), then `--rounds` times: `--arrive` new
events (`products.arrive`: on the latest day, a twentieth on the three days before), each
product's models run over them in a child process (`products.in_child`, one pass). The last
round is reported; the first warms the files' caches.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _measure import machine, write_section

from products import PRODUCTS, SEED, Platform, arrive, compact, generate, history_volume, in_child

SECTION = "Products: the same tick over more history"
DEFAULT_LAKES = ["2000000:9", "2000000:90", "20000000:90"]


@dataclass(frozen=True)
class Lake:
    events: int
    days: int

    @classmethod
    def parse(cls, text: str) -> "Lake":
        events, _, days = text.partition(":")
        if not events.isdigit() or not days.isdigit():
            raise SystemExit(f"--lakes takes EVENTS:DAYS (e.g. 2000000:90), not `{text}`")
        return cls(int(events), int(days))

    def __str__(self) -> str:
        return f"{self.events:,} events over {self.days} days"


def measure(lake: Lake, arriving: int, rounds: int) -> dict[str, tuple[float, int]]:
    """Seconds of each product's tick in the last round, and the events it got."""
    history = history_volume(lake.events, lake.days, datetime.now(UTC).date())
    with tempfile.TemporaryDirectory(prefix="history-ticks-") as folder:
        platform = Platform.create(Path(folder))
        generate(platform.lake, [history])
        for product in PRODUCTS.values():
            in_child(platform, "models", product, 0)
        compact(platform.lake)
        ticks: dict[str, tuple[float, int]] = {}
        for number in range(rounds):
            arrived = arrive(platform.lake, history, arriving, SEED + 100 + number)
            for kind, product in PRODUCTS.items():
                run = in_child(platform, "models", product, arrived[kind])
                ticks[kind] = (run.seconds, arrived[kind])
            print(f"{lake}, round {number + 1}: {ticks}", file=sys.stderr)
    return ticks


def render(
    lakes: list[Lake], ticks: list[dict[str, tuple[float, int]]], command: str, started: datetime
) -> str:
    lines = [
        f"Command: `{command}`, run {started:%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine()}.",
        "",
        "The same arrival in lakes of more history (see `benchmarks/history_ticks.py`): each "
        "lake built as `products.py` builds one, then new events arrive and each product's "
        "models run over them in a child process; the last of the rounds is shown.",
        "",
        "| lake | web tick | mobile tick |",
        "| --- | ---: | ---: |",
    ]
    for lake, tick in zip(lakes, ticks, strict=True):
        web, mobile = tick["web"], tick["mobile"]
        lines.append(
            f"| {lake} | {web[0]:.2f} s ({web[1]:,} events) | "
            f"{mobile[0]:.2f} s ({mobile[1]:,} events) |"
        )
    first, last = ticks[0], ticks[-1]
    lines.append(
        f"| {lakes[-1]} / {lakes[0]} | {last['web'][0] / first['web'][0]:.2f}x | "
        f"{last['mobile'][0] / first['mobile'][0]:.2f}x |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakes", nargs="+", default=DEFAULT_LAKES, help="EVENTS:DAYS each")
    parser.add_argument("--arrive", type=int, default=2_000, help="new events a round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write", type=Path, help="replace this section of this file")
    args = parser.parse_args()
    lakes = [Lake.parse(text) for text in args.lakes]
    started, began = time.perf_counter(), datetime.now(UTC)
    ticks = [measure(lake, args.arrive, args.rounds) for lake in lakes]
    command = ".venv/bin/python benchmarks/history_ticks.py " + " ".join(sys.argv[1:])
    report = render(lakes, ticks, command.strip(), began)
    report += f"\nThe whole run took {(time.perf_counter() - started) / 60:.1f} minutes.\n"
    print(report)
    if args.write:
        write_section(args.write, SECTION, report)


if __name__ == "__main__":
    main()
