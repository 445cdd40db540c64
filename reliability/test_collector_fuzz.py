"""Part 1, collector fuzz: generated hostile requests against a real collector process (embedded
bus). No 5xx, no crash; every acknowledged item in bronze exactly once, every refused item in
quarantine at its index, nothing of a refused request stored anywhere."""

import signal
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
from _fuzz import TAG, FuzzRequest, Generator
from _harness import Report, new_platform, rss_mb

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.collector import free_port
from dataplatform.testing import (
    MOBILE,
    MOBILE_QUARANTINE,
    WEB,
    WEB_QUARANTINE,
    start_collector_process,
)


@dataclass
class Outcome:
    request: FuzzRequest
    status: int  # 0: no answer at all
    rejected: dict[int, str]  # index -> field, from a 2xx answer


def send(client: httpx.Client, url: str, request: FuzzRequest) -> Outcome:
    try:
        response = client.post(
            url + request.path, content=request.body, headers=request.headers, auth=request.auth
        )
    except httpx.TransportError:
        return Outcome(request, 0, {})
    rejected: dict[int, str] = {}
    if response.is_success:
        answer: Any = response.json()
        rejected = {r["index"]: r["field"] for r in answer.get("rejected", [])}
    return Outcome(request, response.status_code, rejected)


def tags_in(lake: Lakehouse, tables: tuple[str, ...]) -> tuple[Counter[str], dict[str, Any]]:
    """How many rows of `tables` hold each tag, and one such row per tag."""
    counts: Counter[str] = Counter()
    rows: dict[str, Any] = {}
    for table in tables:
        if not lake.exists(table):
            continue
        for row in lake.read(table).to_pylist():
            for tag in set(TAG.findall(row["raw"])):
                counts[tag] += 1
                rows[tag] = row
    return counts, rows


def problems_in(outcomes: list[Outcome], lake: Lakehouse) -> list[str]:
    """Every acknowledged item that is not in bronze once, every refused one not in quarantine at
    its index, every item of a refused request stored anyway."""
    bronze, bronze_rows = tags_in(lake, (MOBILE, WEB))
    quarantine, quarantine_rows = tags_in(lake, (MOBILE_QUARANTINE, WEB_QUARANTINE))
    problems = []
    for outcome in outcomes:
        for item in outcome.request.items:
            where = f"{outcome.request.category} {outcome.request.path} item {item.tag}"
            if not outcome.status or outcome.status >= 300:
                expected = (0, 0)
            elif item.index is not None and item.index in outcome.rejected:
                expected = (0, 1)
            else:
                expected = (1, 0)
            found = (bronze[item.tag], quarantine[item.tag])
            if found != expected:
                problems.append(
                    f"{where} (HTTP {outcome.status}): in bronze/quarantine {found}, expected {expected}"
                )
            elif expected == (1, 0) and item.message_id:
                if bronze_rows[item.tag]["event_id"] != item.message_id:
                    problems.append(
                        f"{where}: stored as {bronze_rows[item.tag]['event_id']!r}, sent {item.message_id!r}"
                    )
            elif expected == (0, 1) and quarantine_rows[item.tag]["batch_index"] != item.index:
                problems.append(
                    f"{where}: quarantined at index {quarantine_rows[item.tag]['batch_index']}, refused at {item.index}"
                )
    return problems


def test_fuzzed_requests_never_cost_a_5xx_nor_an_item(
    tmp_path: Path, size: Any, report: Report
) -> None:
    platform = new_platform(tmp_path)
    port = free_port()
    collector = start_collector_process(platform.env, port)
    url = f"http://127.0.0.1:{port}"
    generator = Generator(size("--seed"), datetime.now(UTC), platform.ios_key, platform.web_key)
    requests = generator.requests(size("--fuzz-requests"))
    try:
        rss_before = rss_mb(collector.pid)
        with httpx.Client(timeout=120) as client, ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(lambda request: send(client, url, request), requests))
        rss_after = rss_mb(collector.pid)
        crashed = collector.poll() is not None
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=60)

    failures = [o for o in outcomes if o.status == 0 or o.status >= 500]
    problems = problems_in(outcomes, Lakehouse(platform.lake_root))
    statuses = Counter(outcome.status for outcome in outcomes)
    by_category = defaultdict(Counter)
    for outcome in outcomes:
        by_category[outcome.request.category.split(" (")[0]][outcome.status] += 1
    items = sum(len(o.request.items) for o in outcomes)
    acknowledged = sum(
        1
        for o in outcomes
        if 200 <= o.status < 300
        for item in o.request.items
        if item.index is None or item.index not in o.rejected
    )
    quarantined = sum(len(o.rejected) for o in outcomes if 200 <= o.status < 300)
    lines = [
        f"Sizes: {len(requests)} requests ({items} items), seed {size('--seed')}, 4 concurrent clients, "
        "against `dataplatform serve --collector` on loopback with the embedded bus.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| answers by status | {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))} |",
        f"| 5xx or no answer | {len(failures)} |",
        f"| collector crashed | {'yes' if crashed else 'no'} |",
        f"| items acknowledged / quarantined / refused with their request | {acknowledged} / {quarantined} / {items - acknowledged - quarantined} |",
        f"| acknowledged items not in bronze exactly once, refused ones not in quarantine, refused requests stored | {len(problems)} |",
        f"| collector RSS before / after | {rss_before:.0f} MiB / {rss_after:.0f} MiB |",
        "",
        "| category | answers |",
        "| --- | --- |",
        *(
            f"| {category} | {', '.join(f'{s}: {n}' for s, n in sorted(counts.items()))} |"
            for category, counts in sorted(by_category.items())
        ),
    ]
    report.add("Collector fuzz", "\n".join(lines))
    assert not crashed, "the collector process died under the fuzz"
    assert [(o.request.category, o.request.path, o.status) for o in failures] == []
    assert problems == []
