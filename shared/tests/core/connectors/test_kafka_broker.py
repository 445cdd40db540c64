"""The Kafka bus against a real broker (one node, KRaft mode; see conftest.py): the collector's
idempotent producer, ingestion workers writing bronze with a Delta txn per partition, and what
they survive: a worker's kill -9, a broker restart, a second worker joining the group, a message
that is not rows. Every acknowledged event must be in bronze exactly once.

Workers run in threads, each test's in a consumer group of its own, except where kill -9 needs a
process: there `dataplatform ingest run` is `worker-1` of the group `bronze-writers`, which no
other test uses. A stopped worker stays in its group, a static member, until its session expires
(45 s) or a worker of its name replaces it, and any newcomer to the group would wait for it.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import tenacity
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from dataplatform.core.connectors.bus.kafka import (
    KafkaBus,
    KafkaIngestWorker,
    topic_for,
    undecodable_table,
)
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.collector import free_port
from dataplatform.platform.sources import SourceRegistry
from dataplatform.testing import MOBILE, Traffic, start_collector_process

if TYPE_CHECKING:
    from conftest import KafkaBroker

CLI = str(Path(sys.executable).with_name("dataplatform"))
BATCH = Traffic.BATCH
# The table of the tests that publish through the collector's producer (KafkaBus) directly,
# without HTTP: rows of one column.
TABLE = "web_user_analytics.bronze.clickstream"
TOPIC = topic_for(TABLE)
SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False)])
# Generous: a loaded machine must never fail a test that would pass; a passing test never waits
# this long.
DEADLINE_SECONDS = 120


def platform(tmp_path: Path, kafka: "KafkaBroker") -> tuple[dict[str, str], str]:
    """The environment of a platform in `tmp_path` on `kafka`, and an iOS source's write key."""
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    _, key = SourceRegistry(store).create("ios-app", "ios", "mobile-user-analytics")
    store.dispose()
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": database_url,
        "DATAPLATFORM_BUS": "kafka",
        "DATAPLATFORM_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
    }
    return env, key


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [CLI, "ingest", "run", "--product", "mobile-user-analytics"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextlib.contextmanager
def stopped_after(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def bronze_events(lake_root: Path, at_least: int) -> Counter[str]:
    """The event ids in bronze, once it holds `at_least` of them (or the deadline passed)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        lake = Lakehouse(lake_root)
        stored = (
            Counter(lake.read(MOBILE, columns=["event_id"])["event_id"].to_pylist())
            if lake.exists(MOBILE)
            else Counter()
        )
        if stored.total() >= at_least or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def assert_once(acknowledged: list[str], stored: Counter[str], log: Path | None = None) -> None:
    """Every acknowledged event stored once, and no event twice; `log` (the workers') tells why
    not."""
    said = f"; the workers' log ends:\n{tail(log)}" if log else ""
    assert acknowledged, "nothing was acknowledged: the test proved nothing"
    missing_or_repeated = [event for event in acknowledged if stored[event] != 1]
    assert missing_or_repeated == [], f"{len(missing_or_repeated)} not stored once{said}"
    assert [event for event, count in stored.items() if count > 1] == [], f"repeated{said}"


def tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


class Publisher:
    """Publishes one-row requests through the collector's producer (KafkaBus), ten in flight at
    a time, until closed; remembers the ids of the rows Kafka acknowledged."""

    AT_ONCE = 10

    def __init__(self, kafka: "KafkaBroker", prefix: str = "row") -> None:
        self.servers = kafka.bootstrap_servers
        self.prefix = prefix
        self.acknowledged: list[str] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher")

    def __enter__(self) -> "Publisher":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=DEADLINE_SECONDS)

    def _run(self) -> None:
        try:
            asyncio.run(self._publish())
        except BaseException as exc:
            self.error = exc

    async def _publish(self) -> None:
        bus = KafkaBus(self.servers)
        sent = 0
        try:
            while not self._stop.is_set():
                ids = [f"{self.prefix}-{sent + i}" for i in range(self.AT_ONCE)]
                sent += self.AT_ONCE
                await asyncio.gather(*(bus.publish(TABLE, SCHEMA, [{"id": i}]) for i in ids))
                self.acknowledged.extend(ids)
        finally:
            await bus.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(self.acknowledged) < count:
            assert self.error is None, f"publishing failed: {self.error!r}"
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} acknowledged"
            time.sleep(0.01)


@contextlib.contextmanager
def ingesting(
    lake_root: Path, kafka: "KafkaBroker", group: str, consumer: str, table: str = TABLE
) -> Iterator[None]:
    """A worker of `group` named `consumer` writing `table` in a thread, as its own process
    would (a lakehouse of its own); an error that stopped it fails the test."""
    worker = KafkaIngestWorker(
        Lakehouse(lake_root), kafka.bootstrap_servers, table, group=group, consumer=consumer
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            worker.run(stop)
        except BaseException as exc:
            errors.append(exc)
            raise

    thread = threading.Thread(target=run, name=consumer)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
    assert errors == [], f"{consumer} stopped: {errors}"


def table_ids(lake_root: Path, at_least: int) -> Counter[str]:
    """The ids in TABLE, once it holds `at_least` rows (or the deadline passed)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        lake = Lakehouse(lake_root)
        stored = Counter(lake.read(TABLE)["id"].to_pylist()) if lake.exists(TABLE) else Counter()
        if stored.total() >= at_least or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


def new_group() -> str:
    return f"writers-{uuid.uuid4().hex[:8]}"


def last_offsets(kafka: "KafkaBroker", topic: str, partitions: int) -> dict[int, int]:
    """Each partition's last offset, as the broker has it."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": new_group()})
    try:
        return {
            partition: _end_offset(consumer, TopicPartition(topic, partition)) - 1
            for partition in range(partitions)
        }
    finally:
        consumer.close()


@tenacity.retry(
    retry=tenacity.retry_if_exception(
        lambda error: isinstance(error, KafkaException) and error.args[0].retriable()
    ),
    stop=tenacity.stop_after_delay(30),
    wait=tenacity.wait_fixed(0.2),
    reraise=True,
)
def _end_offset(consumer: Consumer, partition: TopicPartition) -> int:
    """The partition's end offset; asked again while the client's metadata still names a leader
    of a topic of the same name that a previous test deleted."""
    return int(consumer.get_watermark_offsets(partition, 30)[1])


def every_partition_has_messages(kafka: "KafkaBroker", topic: str, partitions: int) -> None:
    """Wait until each partition holds a message: without a key, the producer fills one
    partition for a while (sticky partitioning) before it moves to another."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while min(last_offsets(kafka, topic, partitions).values()) < 0:
        assert time.monotonic() < deadline, f"{topic}: {last_offsets(kafka, topic, partitions)}"
        time.sleep(0.1)


def produce_raw(kafka: "KafkaBroker", topic: str, value: bytes) -> tuple[str, int, int]:
    """Write `value` as another producer would; returns where it landed (topic, partition,
    offset)."""
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all"})
    landed: list[tuple[str, int, int]] = []

    def on_delivery(error: object, message: object) -> None:
        assert error is None, error
        landed.append((message.topic(), message.partition(), message.offset()))  # type: ignore[attr-defined]

    producer.produce(topic, value, on_delivery=on_delivery)
    producer.flush(30)
    [where] = landed
    return where


def members_with_partitions(kafka: "KafkaBroker", group: str, count: int) -> list[list[int]]:
    """The partitions of TOPIC each member of `group` holds, once `count` members hold some."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        description = admin.describe_consumer_groups([group])[group].result(timeout=30)
        held = [
            sorted(p.partition for p in member.assignment.topic_partitions if p.topic == TOPIC)
            for member in description.members
        ]
        if sum(1 for partitions in held if partitions) >= count:
            return held
        assert time.monotonic() < deadline, f"{group} still assigns {held}"
        time.sleep(0.1)


def test_events_the_collector_acknowledged_reach_bronze_once(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    env, key = platform(tmp_path, kafka)
    kafka.create_topic(topic_for(MOBILE), partitions=3)
    port = free_port()
    with (
        stopped_after(start_collector_process(env, port)),
        ingesting(tmp_path / "lake", kafka, new_group(), "worker-1", table=MOBILE),
    ):
        with Traffic(f"http://127.0.0.1:{port}", key) as traffic:
            traffic.wait_for(20 * BATCH)
        stored = bronze_events(tmp_path / "lake", len(traffic.acknowledged))

    assert_once(traffic.acknowledged, stored)


def test_a_worker_killed_mid_stream_and_restarted_writes_every_event_once(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    env, key = platform(tmp_path, kafka)
    kafka.create_topic(topic_for(MOBILE), partitions=3)
    port = free_port()
    log = tmp_path / "worker.log"
    with stopped_after(start_collector_process(env, port)), contextlib.ExitStack() as workers:
        first = workers.enter_context(stopped_after(start_worker(env, log)))
        with Traffic(f"http://127.0.0.1:{port}", key) as traffic:
            writing = bronze_events(tmp_path / "lake", 5 * BATCH).total() >= 5 * BATCH
            assert writing, f"the worker is not writing; its log ends:\n{tail(log)}"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
            traffic.wait_for(len(traffic.acknowledged) + 10 * BATCH)  # traffic flows on meanwhile
            workers.enter_context(stopped_after(start_worker(env, log)))
            traffic.wait_for(len(traffic.acknowledged) + 10 * BATCH)
        stored = bronze_events(tmp_path / "lake", len(traffic.acknowledged))

    assert_once(traffic.acknowledged, stored, log)


def test_each_partition_of_a_topic_commits_its_own_txn_at_its_last_offset(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    kafka.create_topic(TOPIC, partitions=3)
    with Publisher(kafka) as published:
        every_partition_has_messages(kafka, TOPIC, 3)
    group = new_group()
    with ingesting(tmp_path / "lake", kafka, group, "worker-1"):
        stored = table_ids(tmp_path / "lake", len(published.acknowledged))

    assert_once(published.acknowledged, stored)
    last = last_offsets(kafka, TOPIC, 3)
    lake = Lakehouse(tmp_path / "lake")
    assert {
        partition: lake.transaction_version(TABLE, f"kafka:{group}:{TOPIC}:{partition}")
        for partition in range(3)
    } == last


def test_a_broker_restart_mid_stream_loses_and_repeats_nothing(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    kafka.create_topic(TOPIC, partitions=3)
    with ingesting(tmp_path / "lake", kafka, new_group(), "worker-1"):
        with Publisher(kafka) as published:
            table_ids(tmp_path / "lake", 50)  # the worker is writing
            kafka.restart()  # kill -9, then up again on the same port and log
            published.wait_for(len(published.acknowledged) + 100)  # the producer is back
        stored = table_ids(tmp_path / "lake", len(published.acknowledged))

    assert_once(published.acknowledged, stored)


def test_a_second_worker_joining_mid_stream_takes_partitions_and_nothing_repeats(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    kafka.create_topic(TOPIC, partitions=3)
    group = new_group()
    with (
        ingesting(tmp_path / "lake", kafka, group, "worker-1"),
        Publisher(kafka) as published,
    ):
        table_ids(tmp_path / "lake", 50)  # the first worker is writing
        with ingesting(tmp_path / "lake", kafka, group, "worker-2"):
            held = members_with_partitions(kafka, group, count=2)
            published.wait_for(len(published.acknowledged) + 100)
            published.close()
            # Both stay until bronze has everything: a stopped static member keeps its
            # partitions from the other until its session expires.
            stored = table_ids(tmp_path / "lake", len(published.acknowledged))

    assert sorted(partition for partitions in held for partition in partitions) == [0, 1, 2]
    assert_once(published.acknowledged, stored)


def test_a_message_that_is_not_rows_is_quarantined_with_its_offset_and_the_rest_written(
    tmp_path: Path, kafka: "KafkaBroker"
) -> None:
    kafka.create_topic(TOPIC, partitions=3)
    with Publisher(kafka, prefix="before") as before:
        before.wait_for(30)
    poison = produce_raw(kafka, TOPIC, b'{"id": "not Arrow"}')
    with Publisher(kafka, prefix="after") as after:
        after.wait_for(30)
    published = before.acknowledged + after.acknowledged
    with ingesting(tmp_path / "lake", kafka, new_group(), "worker-1"):
        stored = table_ids(tmp_path / "lake", len(published))
        # Its partition may hold no row after it, so nothing above waited for its batch.
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not Lakehouse(tmp_path / "lake").exists(undecodable_table(TABLE)):
            assert time.monotonic() < deadline, "nothing was quarantined"
            time.sleep(0.1)

    assert_once(published, stored)
    [kept] = Lakehouse(tmp_path / "lake").read(undecodable_table(TABLE)).to_pylist()
    assert (kept["kafka_topic"], kept["kafka_partition"], kept["kafka_offset"]) == poison
    assert kept["value"] == b'{"id": "not Arrow"}'
    assert "not an Arrow IPC stream" in kept["reason"]
    assert kept["kafka_timestamp"] is not None
