"""Ingestion throughput: events/s over HTTP with durable acknowledgement, and bus -> bronze on
Redis Streams and on Kafka.

    make bench            (or: .venv/bin/python benchmarks/ingestion.py --write docs/BENCHMARKS.md)

The collector and the ingestion worker run as their own processes, as in production; load
comes from this process over loopback. Peak memory is each server process's VmHWM. The Kafka
broker is a real one (one node, KRaft) that the bench starts from the jars
`infrastructure/local/jvm.sh` brings, which `make bench` runs first.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2
import orjson
import redis
from _measure import child_pids, machine, peak_rss_mb, write_section
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from dataplatform.core.connectors.bus.kafka import BRONZE_WRITERS, topic_for
from dataplatform.core.connectors.bus.redis import stream_key
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.devtools.kafka_broker import KAFKA_JARS, KafkaBroker, missing_kafka_jars
from dataplatform.platform.collector import free_port
from dataplatform.platform.sources import SourceRegistry

CLI = str(Path(sys.executable).with_name("dataplatform"))
MOBILE = "mobile_user_analytics.bronze.app_events"
HTTP_TARGET = 20_000
BUS_TARGET = 200_000
# Partitions of the bench's Kafka topic: more than one, so that the worker's commits carry a txn
# per partition as they do in production.
KAFKA_PARTITIONS = 4
# What the broker answers about a group before its coordinator (the group offsets topic, made on
# first use) is ready or before the group exists: not yet, rather than an error.
GROUP_NOT_READY = {
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.GROUP_ID_NOT_FOUND,
}


@dataclass
class Result:
    name: str
    events: int
    seconds: float
    peak_rss_mb: float
    target: int
    notes: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def request_bodies(count: int, batch: int) -> list[bytes]:
    """Segment batches like an app's SDK sends: track events with context and properties."""
    bodies = []
    for _ in range(count):
        events = [
            {
                "type": "track",
                "event": "screen_view",
                "userId": f"user-{i % 997}",
                "anonymousId": str(uuid.uuid4()),
                "messageId": str(uuid.uuid4()),
                "timestamp": "2026-11-25T10:00:00.000Z",
                "properties": {"screen": "Home", "session_id": "s-1", "position": i},
                "context": {
                    "app": {"name": "Shop", "version": "3.2.1", "build": "321"},
                    "device": {"model": "iPhone15,2", "type": "ios"},
                    "os": {"name": "iOS", "version": "18.1"},
                    "library": {"name": "analytics-ios", "version": "4.1.0"},
                },
            }
            for i in range(batch)
        ]
        bodies.append(orjson.dumps({"batch": events, "sentAt": "2026-11-25T10:00:01.000Z"}))
    return bodies


def start(
    args: list[str], env: dict[str, str], ready_url: str | None = None
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if ready_url:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(ready_url, timeout=1).status_code == 200:
                    return process
            except httpx2.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{args} did not start")
    return process


def start_collector(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["serve", "--collector", "--port", str(port), "--workers", str(workers)]
    return start(command, env, f"{url}/health"), url


async def load(url: str, key: str, bodies: list[bytes], clients: int, seconds: float) -> int:
    sent = 0
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        nonlocal sent
        async with httpx2.AsyncClient(auth=(key, ""), timeout=60) as session:
            index = number
            while time.monotonic() < deadline:
                response = await session.post(
                    f"{url}/v1/batch",
                    content=bodies[index % len(bodies)],
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()
                sent += 100
                index += clients

    await asyncio.gather(*(client(n) for n in range(clients)))
    return sent


def bench_http(workdir: Path, clients: int, seconds: float, workers: int) -> Result:
    env = environment(workdir, bus="embedded")
    key = create_source(env)
    collector, url = start_collector(env, workers)
    try:
        bodies = request_bodies(200, 100)
        started = time.perf_counter()
        sent = asyncio.run(load(url, key, bodies, clients, seconds))
        elapsed = time.perf_counter() - started
        peak = sum(peak_rss_mb(pid) for pid in [collector.pid, *child_pids(collector.pid)])
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    stored = Lakehouse(workdir / "lake").read(MOBILE, columns=["event_id"]).num_rows
    assert stored == sent, f"acknowledged {sent} but bronze holds {stored}"
    return Result(
        "HTTP -> bronze, embedded bus (acknowledged after the Delta commit)",
        sent,
        elapsed,
        peak,
        HTTP_TARGET,
        f"Segment /v1/batch, 100 events a request, {clients} concurrent clients, {workers} collector processes; every acknowledged event verified in bronze",
    )


def bench_bus(workdir: Path, redis_url: str, events: int) -> Result:
    env = environment(workdir, bus="redis", redis_url=redis_url)
    client = redis.Redis.from_url(redis_url)
    client.delete(stream_key(MOBILE))
    key = create_source(env)
    collector, url = start_collector(env, workers=1)
    try:  # fill the stream through the collector, then time the worker alone
        asyncio.run(load_exactly(url, key, request_bodies(200, 100), events))
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    launched = time.perf_counter()
    worker = start(["ingest", "run", "--product", "mobile-user-analytics"], env)
    try:
        wait_for(lambda: reading(client, stream_key(MOBILE)), worker, interval=0.005)
        started = time.perf_counter()
        wait_for(lambda: drained(client, stream_key(MOBILE)), worker, interval=0.02)
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    client.delete(stream_key(MOBILE))
    stored = Lakehouse(workdir / "lake").read(MOBILE, columns=["event_id"]).num_rows
    assert stored == events, f"published {events} but bronze holds {stored}"
    return Result(
        "Redis Streams -> bronze, ingestion worker (exactly-once txn per batch)",
        events,
        elapsed,
        peak,
        BUS_TARGET,
        f"from the worker's first read until every event is in bronze (its start-up before that: {started - launched:.1f} s); 100 events a stream entry, 2,000 entries a commit",
    )


def bench_kafka(workdir: Path, events: int) -> Result:
    """Kafka -> bronze, filled and timed as `bench_bus` fills and times Redis, on a broker the
    bench starts for itself."""
    missing = missing_kafka_jars()
    if missing is not None:
        raise SystemExit(missing)
    folder = workdir / "kafka"
    folder.mkdir(parents=True)
    broker = KafkaBroker(KAFKA_JARS, folder)
    broker.start()
    try:
        return kafka_to_bronze(workdir, broker, events)
    finally:
        broker.stop()


def kafka_to_bronze(workdir: Path, broker: KafkaBroker, events: int) -> Result:
    env = environment(workdir, bus="kafka", kafka_servers=broker.bootstrap_servers)
    topic = topic_for(MOBILE)
    broker.create_topic(topic, KAFKA_PARTITIONS)
    key = create_source(env)
    collector, url = start_collector(env, workers=1)
    try:  # fill the topic through the collector, then time the worker alone
        asyncio.run(load_exactly(url, key, request_bodies(200, 100), events))
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    ends = end_offsets(admin, topic)
    launched = time.perf_counter()
    worker = start(["ingest", "run", "--product", "mobile-user-analytics"], env)
    try:
        wait_for(lambda: assigned(admin, topic), worker, interval=0.005)
        started = time.perf_counter()
        wait_for(lambda: caught_up(admin, topic, ends), worker, interval=0.02)
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    stored = Lakehouse(workdir / "lake").read(MOBILE, columns=["event_id"]).num_rows
    assert stored == events, f"published {events} but bronze holds {stored}"
    filled = sum(1 for end in ends.values() if end > 0)
    return Result(
        "Kafka -> bronze, ingestion worker (exactly-once txn per partition)",
        events,
        elapsed,
        peak,
        BUS_TARGET,
        f"from the group assigning the worker its partitions, as it starts to poll, until its committed offsets, which follow each Delta commit, reach the end of every partition (its start-up before that: {started - launched:.1f} s); one worker, {KAFKA_PARTITIONS} partitions ({filled} holding events), 100 events a message, up to 1,000 messages a commit; the broker (one JVM) shares the cores",
    )


def end_offsets(admin: AdminClient, topic: str) -> dict[int, int]:
    """Each partition's end: the offset its next message would get."""
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
    asked = {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions}
    return {
        part.partition: future.result().offset
        for part, future in admin.list_offsets(asked, request_timeout=30).items()
    }


def assigned(admin: AdminClient, topic: str) -> bool:
    """A member of the workers' group holds the topic's partitions: the worker has joined the
    group, which it does on subscribing, as it starts to poll."""
    try:
        group = admin.describe_consumer_groups([BRONZE_WRITERS])[BRONZE_WRITERS].result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].code() in GROUP_NOT_READY:
            return False
        raise
    return any(
        part.topic == topic
        for member in group.members
        for part in member.assignment.topic_partitions
    )


def caught_up(admin: AdminClient, topic: str, ends: dict[int, int]) -> bool:
    """The workers' group committed every partition up to its end. The worker commits a
    partition's offsets only after the Delta commit holding its messages, so bronze has them."""
    asked = [ConsumerGroupTopicPartitions(BRONZE_WRITERS)]
    answer = admin.list_consumer_group_offsets(asked)[BRONZE_WRITERS].result(timeout=30)
    # A partition the group never committed is missing, or negative (no offset).
    committed = {
        part.partition: part.offset for part in answer.topic_partitions if part.topic == topic
    }
    return all(committed.get(partition, 0) >= end for partition, end in ends.items())


def wait_for(
    condition: Callable[[], bool], worker: subprocess.Popen[bytes], interval: float
) -> None:
    """Poll `condition` until it holds; a worker that exits meanwhile fails the bench."""
    while not condition():
        if worker.poll() is not None:
            raise RuntimeError(f"the ingestion worker exited with {worker.returncode}")
        time.sleep(interval)


def reading(client: redis.Redis, key: str) -> bool:
    """The worker has joined the consumer group, which it does with its first read."""
    groups = client.xinfo_groups(key)
    return bool(groups) and groups[0]["consumers"] > 0


def drained(client: redis.Redis, key: str) -> bool:
    """Every entry was read and acknowledged, so every commit holding them is done."""
    groups = client.xinfo_groups(key)
    return bool(groups) and groups[0]["lag"] == 0 and groups[0]["pending"] == 0


async def load_exactly(url: str, key: str, bodies: list[bytes], events: int) -> None:
    async with httpx2.AsyncClient(auth=(key, ""), timeout=60) as session:
        for index in range(events // 100):
            (
                await session.post(f"{url}/v1/batch", content=bodies[index % len(bodies)])
            ).raise_for_status()


def environment(
    workdir: Path, bus: str, redis_url: str = "", kafka_servers: str = ""
) -> dict[str, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(workdir / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{workdir / 'metadata.db'}",
        "DATAPLATFORM_BUS": bus,
        "DATAPLATFORM_REDIS_URL": redis_url,
        "DATAPLATFORM_KAFKA_BOOTSTRAP_SERVERS": kafka_servers,
        "DATAPLATFORM_LOG_LEVEL": "WARNING",
    }


def create_source(env: dict[str, str]) -> str:
    store = MetadataStore(env["DATAPLATFORM_DATABASE_URL"])
    store.upgrade()
    registry = SourceRegistry(store)
    if "bench" in {source.name for source in registry.list()}:
        return registry.rotate("bench")
    return registry.create("bench", "ios", "mobile-user-analytics")[1]


def report(results: list[Result]) -> str:
    lines = [
        "| measurement | events | seconds | events/s | target | ratio to target | peak RSS | how |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.events:,} | {r.seconds:.2f} | {r.rate:,.0f} | {r.target:,} | {r.rate / r.target:.2f} | {r.peak_rss_mb:.0f} MB | {r.notes} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    # One collector process: with the embedded bus, more processes only race for the same table.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--bus-events", type=int, default=500_000, help="events each bus carries to bronze"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--write", type=Path, help="replace the ingestion section of this Markdown file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = [
            bench_http(Path(scratch) / "http", args.clients, args.seconds, args.workers),
            bench_bus(Path(scratch) / "bus", args.redis_url, args.bus_events),
            bench_kafka(Path(scratch) / "kafka", args.bus_events),
        ]
    table = report(results)
    print(table)
    if args.write:
        write_ingestion_section(args.write, table, args)


def write_ingestion_section(path: Path, table: str, args: argparse.Namespace) -> None:
    write_section(
        path,
        "Ingestion",
        f"Command: `make bench` (`benchmarks/ingestion.py --seconds {args.seconds:g} --clients {args.clients} --workers {args.workers} --bus-events {args.bus_events}`), "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
        f"Machine: {machine()}. Load generator, collector, worker and the Kafka broker share these cores.\n\n"
        f"{table}\n",
    )


if __name__ == "__main__":
    main()
