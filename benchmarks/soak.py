"""Soak: does the collector's memory level off under steady traffic, and is nothing lost?

    .venv/bin/python benchmarks/soak.py --minutes 30 --write docs/RELIABILITY.md

Starts `dataplatform serve --collector` (embedded bus, bronze on disk) on loopback, measures its
peak request rate briefly, then sends Segment batches at a steady fraction of that peak, sampling
the collector's resident memory (VmRSS, from /proc) every few seconds. Reports RSS after warm-up
and at the end, the growth, and the bytes each request adds over the second half (the slope of
RSS against requests served, so one allocator step does not decide it). At the end every
acknowledged event must be in bronze exactly once.
"""

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import orjson
import pyarrow.compute as pc
from _measure import child_pids, machine, write_section
from ingestion import MOBILE, create_source, environment, start_collector

from dataplatform.core.connectors.lakehouse import Lakehouse

EVENTS_PER_REQUEST = 100


@dataclass
class Traffic:
    """What the load generator sent and what the collector acknowledged."""

    sent: int = 0
    acknowledged: set[int] = field(default_factory=set)
    failed: int = 0

    def next_number(self) -> int:
        self.sent += 1
        return self.sent


@dataclass
class Sample:
    seconds: float
    requests: int
    rss_bytes: int


def request_body(number: int) -> bytes:
    """A Segment batch whose message ids name the request, so bronze can be checked per request."""
    events = [
        {
            "type": "track",
            "event": "screen_view",
            "userId": f"user-{(number * EVENTS_PER_REQUEST + i) % 997}",
            "anonymousId": f"anon-{number}",
            "messageId": f"soak-{number}-{i}",
            "timestamp": "2026-11-25T10:00:00.000Z",
            "properties": {"screen": "Home", "session_id": f"s-{number}", "position": i},
            "context": {
                "app": {"name": "Shop", "version": "3.2.1", "build": "321"},
                "device": {"model": "iPhone15,2", "type": "ios"},
                "os": {"name": "iOS", "version": "18.1"},
                "library": {"name": "analytics-ios", "version": "4.1.0"},
            },
        }
        for i in range(EVENTS_PER_REQUEST)
    ]
    return orjson.dumps({"batch": events, "sentAt": "2026-11-25T10:00:01.000Z"})


async def send(session: httpx2.AsyncClient, url: str, traffic: Traffic) -> None:
    number = traffic.next_number()
    try:
        response = await session.post(
            f"{url}/v1/batch",
            content=request_body(number),
            headers={"Content-Type": "application/json"},
        )
    except httpx2.TransportError:  # never acknowledged, so nothing is owed: counted as failed
        traffic.failed += 1
        return
    if response.status_code == 200:
        traffic.acknowledged.add(number)
    else:
        traffic.failed += 1


async def closed_loop(url: str, key: str, traffic: Traffic, clients: int, seconds: float) -> float:
    """Requests per second with `clients` sending back to back: the collector's peak."""
    deadline = time.monotonic() + seconds
    before = len(traffic.acknowledged)

    async def client() -> None:
        async with httpx2.AsyncClient(auth=(key, ""), timeout=60) as session:
            while time.monotonic() < deadline:
                await send(session, url, traffic)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return (len(traffic.acknowledged) - before) / (time.monotonic() - started)


async def steady(url: str, key: str, traffic: Traffic, rate: float, seconds: float) -> None:
    """Start a request every 1/`rate` seconds (open loop) while `sample_memory` records RSS."""
    started = time.monotonic()
    in_flight: set[asyncio.Task[None]] = set()
    async with httpx2.AsyncClient(
        auth=(key, ""), timeout=60, limits=httpx2.Limits(max_connections=64)
    ) as session:
        scheduled = 0
        while (elapsed := time.monotonic() - started) < seconds:
            while scheduled < elapsed * rate:
                task = asyncio.create_task(send(session, url, traffic))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                scheduled += 1
            await asyncio.sleep(min(0.05, 1 / rate))
        await asyncio.gather(*in_flight)


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its children (uvicorn's workers, if it forks any)."""
    total = 0
    for process in [pid, *child_pids(pid)]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


async def sample_memory(
    pid: int, traffic: Traffic, every: float, samples: list[Sample], stop: asyncio.Event
) -> None:
    started = time.monotonic()
    while not stop.is_set():
        samples.append(Sample(time.monotonic() - started, traffic.sent, rss_bytes(pid)))
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            continue
    samples.append(Sample(time.monotonic() - started, traffic.sent, rss_bytes(pid)))


async def soak(
    url: str, key: str, pid: int, traffic: Traffic, args: argparse.Namespace
) -> tuple[float, float, list[Sample]]:
    await closed_loop(url, key, traffic, args.clients, args.warmup_seconds)  # warm-up
    peak = await closed_loop(url, key, traffic, args.clients, args.peak_seconds)
    rate = args.rate or peak * args.fraction
    samples: list[Sample] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pid, traffic, args.sample_seconds, samples, stop))
    await steady(url, key, traffic, rate, args.minutes * 60)
    stop.set()
    await sampler
    return peak, rate, samples


def bytes_per_request(samples: list[Sample]) -> float:
    """Least-squares slope of RSS against requests sent, over the second half of the samples."""
    half = samples[len(samples) // 2 :]
    mean_x = sum(s.requests for s in half) / len(half)
    mean_y = sum(s.rss_bytes for s in half) / len(half)
    spread = sum((s.requests - mean_x) ** 2 for s in half)
    if spread == 0:
        return float("nan")
    return sum((s.requests - mean_x) * (s.rss_bytes - mean_y) for s in half) / spread


def check_bronze(lake: Lakehouse, traffic: Traffic) -> tuple[int, int, int]:
    """(acknowledged events, of them not in bronze exactly once, bronze rows from nowhere)."""
    ids = lake.read(MOBILE, columns=["event_id"]).column("event_id")
    counts = pc.value_counts(ids)
    seen = dict(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )
    expected = {
        f"soak-{number}-{i}" for number in traffic.acknowledged for i in range(EVENTS_PER_REQUEST)
    }
    wrong = sum(1 for event_id in expected if seen.get(event_id) != 1)
    # Rows of requests whose answer was lost may be there; rows nobody sent may not.
    unknown = sum(1 for event_id in seen if int(event_id.split("-")[1]) > traffic.sent)
    return len(expected), wrong, unknown


def report(
    args: argparse.Namespace, peak: float, rate: float, samples: list[Sample], traffic: Traffic
) -> dict[str, str]:
    start, end = samples[0], samples[-1]
    growth = (end.rss_bytes - start.rss_bytes) / start.rss_bytes * 100
    return {
        "arena": os.environ.get("MALLOC_ARENA_MAX", "glibc default"),
        "minutes": f"{args.minutes:g}",
        "peak": f"{peak:,.0f} req/s",
        "rate": f"{rate:,.1f} req/s ({EVENTS_PER_REQUEST} events each)",
        "requests": f"{end.requests - start.requests:,}",
        "rss_start": f"{start.rss_bytes / 2**20:,.0f} MiB",
        "rss_end": f"{end.rss_bytes / 2**20:,.0f} MiB",
        "growth": f"{growth:+.1f} %",
        "per_request": f"{bytes_per_request(samples):,.0f} B",
        "failed": f"{traffic.failed:,}",
    }


ROW_KEYS = (
    "label",
    "date",
    "minutes",
    "rate",
    "requests",
    "rss_start",
    "rss_end",
    "growth",
    "per_request",
    "lost",
)
HEADER = (
    "| run | date | minutes | steady rate | requests | RSS start | RSS end | growth | "
    "bytes/request, 2nd half | acknowledged events not in bronze exactly once |"
)


def write_soak_section(path: Path, row: dict[str, str], command: str) -> None:
    """Replace this run's row (same label) in the Soak table, keeping the other runs' rows."""
    text = path.read_text() if path.exists() else ""
    start = text.find("## Soak")
    old = text[start:] if start != -1 else ""
    if (end := old.find("\n## ", 1)) != -1:
        old = old[:end]
    kept = [
        line
        for line in old.splitlines()
        if line.startswith("| ")
        and not line.startswith(("| run ", "| --- ", f"| {row['label']} |"))
    ]
    rows = [*kept, "| " + " | ".join(row[key] for key in ROW_KEYS) + " |"]
    write_section(
        path,
        "Soak",
        f"Command: `{command}`  \nMachine: {machine()}\n\n"
        "`benchmarks/soak.py` starts `dataplatform serve --collector` (embedded bus, Delta bronze "
        "on local disk), warms it up, measures its peak with back-to-back requests, then sends "
        "Segment batches at a fraction of that peak. RSS is the collector's VmRSS after warm-up "
        "and at the end; bytes/request is the slope of RSS against requests over the second "
        "half. The load generator shares the machine's cores.\n\n"
        f"{HEADER}\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + "\n",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, help="requests/s (default: --fraction of the peak)")
    parser.add_argument("--fraction", type=float, default=0.7)
    parser.add_argument("--clients", type=int, default=16, help="for warm-up and peak")
    parser.add_argument("--warmup-seconds", type=float, default=20)
    parser.add_argument("--peak-seconds", type=float, default=15)
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--label", default="current code", help="the row of the table to replace")
    parser.add_argument("--write", type=Path, help="replace the Soak section of this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = environment(Path(scratch), bus="embedded")
        key = create_source(env)
        collector, url = start_collector(env, workers=1)
        traffic = Traffic()
        try:
            peak, rate, samples = asyncio.run(soak(url, key, collector.pid, traffic, args))
        finally:
            collector.terminate()
            collector.wait(timeout=60)
        acknowledged, wrong, unknown = check_bronze(Lakehouse(Path(scratch) / "lake"), traffic)
    row = report(args, peak, rate, samples, traffic)
    row |= {
        "label": args.label,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "lost": f"{wrong:,} of {acknowledged:,}",
    }
    for name, value in row.items():
        print(f"{name:>12}: {value}")
    if args.write:
        command = f"benchmarks/soak.py --minutes {args.minutes:g} --label '{args.label}'"
        write_soak_section(args.write, row, command)
    if wrong or unknown:
        raise SystemExit(
            f"{wrong} acknowledged events are not in bronze exactly once; {unknown} rows in "
            "bronze were never sent"
        )


if __name__ == "__main__":
    main()
