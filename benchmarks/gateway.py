"""Gateway benchmark: an authenticated product read through the gateway against a bare FastAPI
endpoint answering the same rows, on the same machine, in one run.

    make bench            (or: .venv/bin/python benchmarks/gateway.py --write docs/BENCHMARKS.md)

The gateway answers `GET /mobile/tables/user_summary` with everything a real read goes through:
request id, API-key authentication and RBAC, the per-credential rate limit, PII masking, the
audit entry of the read, metrics, the access log line and gzip. The bare endpoint is one FastAPI
route returning the same rows held in memory, served by the same uvicorn. Both run as one
process; the load generator runs beside them on the other core.

1. Throughput: `wrk` (1 thread, 16 connections) for `--seconds`: requests/s and latency.
2. Fixed rate: 500 requests/s for `--seconds` over 32 keep-alive connections, open loop (each
   request is due at its own time, and its latency counts from then, so a stall is not hidden):
   p50 and p99.
Targets (issue 5): p99 at most 20 ms at 500 requests/s; at least 50 % of the bare throughput.
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow as pa
from _measure import machine, write_section

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.auth import Auth
from dataplatform.platform.collector import free_port

TABLE = "mobile_user_analytics.gold.user_summary"
PATH = "/mobile/tables/user_summary?limit=20"
BARE_APP = Path(__file__).with_name("_bare_app.py")
SIGNING_SECRET = "gateway-benchmark-signing-secret-" + "5f" * 16


@dataclass
class Throughput:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass
class FixedRate:
    rate: int
    sent: int
    failed: int
    p50_ms: float
    p99_ms: float


def prepare(folder: Path) -> tuple[dict[str, str], str]:
    """A migrated store, 20 user summaries in the lake and a viewer's API key; the environment
    both servers run with."""
    database_url = f"sqlite:///{folder / 'metadata.db'}"
    settings = PlatformSettings(
        database_url=database_url,
        lake_root=str(folder / "lake"),
        auth={"jwt_secret": SIGNING_SECRET},  # type: ignore[arg-type]
    )
    store = MetadataStore(database_url)
    store.upgrade()
    Lakehouse(folder / "lake").append(
        TABLE,
        pa.table(
            {
                "user_id": [f"user-{index:05d}" for index in range(20)],
                "first_seen": [datetime(2026, 11, 1, tzinfo=UTC)] * 20,
                "sessions": list(range(20)),
                "events": [index * 17 for index in range(20)],
                "revenue": [index * 1.5 for index in range(20)],
            }
        ),
    )
    auth = Auth.create(settings, store, [product.name for product in discover_products()])
    auth.roles.ensure_builtin()
    _, key = auth.keys.create("bench", ["viewer"], "bench", 1)
    store.dispose()
    return platform_environment(folder, database_url), key


def platform_environment(folder: Path, database_url: str) -> dict[str, str]:
    """The environment a benchmark's platform processes run in: its store and lake, a fixed
    signing secret, and a rate limit no benchmark reaches."""
    return {
        **os.environ,
        "DATAPLATFORM_DATABASE_URL": database_url,
        "DATAPLATFORM_LAKE_ROOT": str(folder / "lake"),
        "DATAPLATFORM_AUTH__JWT_SECRET": SIGNING_SECRET,
        # The limiter is still consulted on every request.
        "DATAPLATFORM_GATEWAY__RATE_LIMIT": "100000000/minute",
        "DATAPLATFORM_LOG_FORMAT": "json",
        "DATAPLATFORM_LOG_LEVEL": "INFO",
    }


def start(
    command: list[str], environment: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command[0]} did not answer /health on port {port}; see {log}")


def run_wrk(url: str, key: str, seconds: int) -> Throughput:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c16",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return Throughput(rate, _percentile(output, "50%"), _percentile(output, "99%"))


def _percentile(output: str, label: str) -> float:
    value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole answers.

    The fixed-rate phase needs a client far cheaper than the server it loads, on the same two
    cores; a general client (httpx) costs about as much per request as the server does.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
        await self.reader.readexactly(int(length.group(1)))
        return status


async def fixed_rate(port: int, path: str, key: str, rate: int, seconds: int) -> FixedRate:
    """Send `rate` requests a second, each due at its own time; its latency counts from that time,
    waiting for a free connection included, so a stall is not hidden (open loop)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Accept-Encoding: gzip\r\n\r\n"
    ).encode()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(32):
        idle.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    failed = 0

    async def one(due: float) -> None:
        nonlocal failed
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        connection = await idle.get()
        try:
            if await connection.get(request) != 200:
                failed += 1
        finally:
            idle.put_nowait(connection)
        latencies.append((time.perf_counter() - due) * 1000)

    # One second at the same rate first, not counted: connections, caches and the audit
    # writer reach their steady state.
    start = time.perf_counter() + 0.2
    await asyncio.gather(*(one(start + index / rate) for index in range(rate)))
    latencies.clear()
    failed = 0
    start = time.perf_counter() + 0.2
    total = rate * seconds
    await asyncio.gather(*(one(start + index / rate) for index in range(total)))
    latencies.sort()
    return FixedRate(
        rate, total, failed, statistics.median(latencies), latencies[int(len(latencies) * 0.99)]
    )


def measure(seconds: int, rounds: int) -> dict[str, list[Any]]:
    """`rounds` rounds, each serving the gateway and then the bare endpoint afresh."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    environment, key = prepare(folder)
    results: dict[str, list[Any]] = {}
    binary = Path(sys.executable).with_name("dataplatform")
    servers = {
        "gateway": lambda port: [str(binary), "serve", "--port", str(port)],
        "bare": lambda port: [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(BARE_APP.parent),
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "_bare_app:app",
        ],
    }
    try:
        for _ in range(rounds):
            for name, command in servers.items():
                port = free_port()
                process = start(command(port), environment, port, folder / f"{name}.log")
                try:
                    url = f"http://127.0.0.1:{port}{PATH}"
                    httpx.get(url, headers={"Authorization": f"Bearer {key}"}).raise_for_status()
                    results.setdefault(f"{name}_throughput", []).append(run_wrk(url, key, seconds))
                    results.setdefault(f"{name}_fixed", []).append(
                        asyncio.run(fixed_rate(port, PATH, key, 500, seconds))
                    )
                finally:
                    process.terminate()
                    process.wait(30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--write", type=Path, help="replace the gateway section of this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("the gateway benchmark needs wrk: apt-get install wrk")
    report = render(measure(args.seconds, args.rounds), args)
    print(report)
    if args.write:
        write_section(args.write, "Gateway", report)


def spread(values: list[float], unit: str = "", digits: int = 0) -> str:
    """`median (min-max)` of the rounds."""
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{middle:,.{digits}f}{unit} ({low:,.{digits}f}-{high:,.{digits}f})"


def render(results: dict[str, list[Any]], args: argparse.Namespace) -> str:
    gateway, bare = results["gateway_throughput"], results["bare_throughput"]
    gateway_fixed, bare_fixed = results["gateway_fixed"], results["bare_fixed"]
    shares = [
        g.requests_per_second / b.requests_per_second for g, b in zip(gateway, bare, strict=True)
    ]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def cells(name: str, rows: list[Any]) -> str:
        return " | ".join(spread([getattr(row, name) for row in r], digits=2) for r in rows)

    failed = [sum(row.failed for row in r) for r in (gateway_fixed, bare_fixed)]
    sent = [sum(row.sent for row in r) for r in (gateway_fixed, bare_fixed)]
    return f"""
Command: `make bench` (`benchmarks/gateway.py --seconds {args.seconds} --rounds {args.rounds}`), run {when}.

Machine: {machine()}. Server (one uvicorn process) and load generator share these cores.

Request: `GET {PATH}` with a viewer's API key: 20 rows of `{TABLE}`, `user_id` masked (PII),
the read audited. The bare endpoint is one FastAPI route returning the same 20 rows from memory.
Each figure is the median of {args.rounds} rounds, with the lowest and highest in brackets; the
servers are started afresh for each round.

| measurement | gateway | bare FastAPI | gateway / bare | target |
| --- | ---: | ---: | ---: | --- |
| throughput, wrk 16 connections (requests/s) | {spread([r.requests_per_second for r in gateway])} | {spread([r.requests_per_second for r in bare])} | {spread([share * 100 for share in shares], "%")} | at least 50 % |
| p50 latency at that load (ms) | {cells("p50_ms", [gateway, bare])} | | |
| p99 latency at that load (ms) | {cells("p99_ms", [gateway, bare])} | | |
| p50 latency at 500 requests/s (ms) | {cells("p50_ms", [gateway_fixed, bare_fixed])} | | |
| p99 latency at 500 requests/s (ms) | {cells("p99_ms", [gateway_fixed, bare_fixed])} | | p99 at most 20 ms |
| failed requests at 500 requests/s | {failed[0]} of {sent[0]:,} | {failed[1]} of {sent[1]:,} | | none |
"""


if __name__ == "__main__":
    main()
