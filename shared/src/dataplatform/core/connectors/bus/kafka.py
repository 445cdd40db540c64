"""Kafka: an idempotent producer in the collector, one consumer group writing bronze.

Exactly once the way kafka-delta-ingest does it: the Delta commit that adds a batch's rows also
carries one txn per partition (app id = group + topic + partition, version = last offset).
On start and on every rebalance the consumer seeks each partition to the offset after the
version the table holds, so Kafka's own committed offsets never decide what is written.

A message whose value is not rows (another producer's, a tombstone, a damaged one) would stop its
partition for good: it goes instead, with its topic, partition and offset, to
`<product>.quarantine.<layer>_<table>`, under the same per-partition txns, before the rows
after it are written.
"""

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from dataplatform.core.connectors.bus._base import Row, decode_rows, encode_rows
from dataplatform.core.connectors.lakehouse import Lakehouse, TableName, Txn, quarantine_of
from dataplatform.core.errors import RetryableError, extra_required

logger = logging.getLogger(__name__)
TOPIC_PREFIX = "dataplatform.bus."
# The consumer group of the ingestion workers.
BRONZE_WRITERS = "bronze-writers"
# Where a message that is not rows is kept: enough to find it in Kafka again, and its bytes.
UNDECODABLE_SCHEMA = pa.schema(
    [
        pa.field("kafka_topic", pa.string(), nullable=False),
        pa.field("kafka_partition", pa.int32(), nullable=False),
        pa.field("kafka_offset", pa.int64(), nullable=False),
        pa.field("kafka_timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("value", pa.binary()),
    ]
)


def topic_for(table: str) -> str:
    return f"{TOPIC_PREFIX}{table}"


def undecodable_table(table: str) -> str:
    """Where the worker of `table` keeps messages that are not rows:
    `<product>.quarantine.<layer>_<table>`, the rows refused on their way into `table`."""
    name = TableName.parse(table)
    return quarantine_of(name.product, f"{name.layer}.{name.table}")


class Message(Protocol):
    """The part of confluent_kafka.Message the bookkeeping reads."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def value(self) -> bytes | None: ...
    def timestamp(self) -> tuple[int, int]: ...


@dataclass(frozen=True)
class Undecodable:
    """A message whose value is not an Arrow IPC stream of rows, and why."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    reason: str
    value: bytes | None


@dataclass(frozen=True)
class Batch:
    """What one poll adds to the table: rows, and a txn per partition they came from (up to
    its last message, rows or not); the messages that are not rows go to quarantine."""

    data: pa.Table | None
    txns: list[Txn]
    last_offsets: dict[tuple[str, int], int]
    skipped: int
    undecodable: list[Undecodable]


class PartitionOffsets:
    """Per partition, the last offset the table holds: read from its Delta txns."""

    def __init__(self, lake: Lakehouse, table: str, group: str) -> None:
        self.lake = lake
        self.table = table
        self.group = group
        self._held: dict[tuple[str, int], int] = {}

    def app_id(self, topic: str, partition: int) -> str:
        return f"kafka:{self.group}:{topic}:{partition}"

    def assign(self, topic: str, partition: int) -> int | None:
        """The offset to resume `partition` from, or None to start at its beginning."""
        held = self.lake.transaction_version(self.table, self.app_id(topic, partition))
        if held is None:
            self._held.pop((topic, partition), None)
            return None
        self._held[(topic, partition)] = held
        return held + 1

    def revoke(self, topic: str, partition: int) -> None:
        """Forget a partition another consumer now owns; it is read again on reassignment."""
        self._held.pop((topic, partition), None)

    def batch(self, messages: Iterable[Message]) -> Batch:
        """The rows of `messages` the table does not hold yet, with their partitions' txns."""
        tables: list[pa.Table] = []
        undecodable: list[Undecodable] = []
        last_offsets: dict[tuple[str, int], int] = {}
        skipped = 0
        for message in messages:
            key = (message.topic() or "", message.partition() or 0)
            offset = message.offset() or 0
            if offset <= self._held.get(key, -1):
                skipped += 1  # redelivered after a rebalance or a restart: already in the table
                continue
            last_offsets[key] = max(offset, last_offsets.get(key, -1))
            rows = _decoded(message, *key, offset)
            if isinstance(rows, Undecodable):
                undecodable.append(rows)
            else:
                tables.append(rows)
        txns = [Txn(self.app_id(*key), offset) for key, offset in last_offsets.items()]
        data = pa.concat_tables(tables) if tables else None
        return Batch(data, txns, last_offsets, skipped, undecodable)

    def committed(self, batch: Batch) -> None:
        """Record what a successful commit of `batch` now holds."""
        self._held.update(batch.last_offsets)


def _decoded(message: Message, topic: str, partition: int, offset: int) -> pa.Table | Undecodable:
    """The rows `message` carries, or why it carries none."""
    value = message.value()
    if value is None:
        reason = "the message has no value (a tombstone)"
    else:
        try:
            return decode_rows(value)
        except (pa.ArrowException, OSError) as exc:  # pyarrow says OSError of a bad IPC header
            reason = f"the value is not an Arrow IPC stream of rows: {exc}"
    timestamp_type, milliseconds = message.timestamp()
    timestamp = datetime.fromtimestamp(milliseconds / 1000, UTC) if timestamp_type else None
    return Undecodable(topic, partition, offset, timestamp, reason, value)


class KafkaBus:
    """Publishes each request's rows as one message; returns when all in-sync replicas have it."""

    def __init__(self, bootstrap_servers: str) -> None:
        with extra_required("kafka", "The Kafka bus (`bus: kafka`)"):
            from confluent_kafka import Producer

        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        )
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def publish(self, table: str, schema: pa.Schema, rows: Sequence[Row]) -> None:
        if not rows:
            return
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: Any, _: Any) -> None:
            if error is None:
                loop.call_soon_threadsafe(_settle, delivered, None)
            else:
                loop.call_soon_threadsafe(
                    _settle, delivered, RetryableError(f"Kafka did not take the rows: {error}")
                )

        self._producer.produce(topic_for(table), encode_rows(schema, rows), on_delivery=on_delivery)
        await delivered

    async def close(self) -> None:
        await asyncio.to_thread(self._producer.flush, 30)
        self._stop.set()


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class KafkaIngestWorker:
    """Consumes one table's topic and writes it to the table, exactly once.

    `consumer` is the worker's stable name in `group`: a worker restarted under the same name
    (after a crash, kill -9 included) takes its partitions back at once, where a new member would
    wait for the dead one's session to expire (45 s) first.
    """

    def __init__(
        self,
        lake: Lakehouse,
        bootstrap_servers: str,
        table: str,
        *,
        group: str = BRONZE_WRITERS,
        consumer: str = "worker-1",
    ) -> None:
        with extra_required("kafka", "The Kafka ingestion worker (`bus: kafka`)"):
            from confluent_kafka import Consumer

        self.lake = lake
        self.table = table
        self.topic = topic_for(table)
        self.quarantine = undecodable_table(table)
        self.offsets = PartitionOffsets(lake, table, group)
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": group,
                # One member per table a worker process ingests, each named after its topic.
                "group.instance.id": f"{consumer}.{self.topic}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        self._consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        from confluent_kafka import OFFSET_BEGINNING

        for assigned in partitions:
            start = self.offsets.assign(assigned.topic, assigned.partition)
            assigned.offset = OFFSET_BEGINNING if start is None else start
        consumer.assign(partitions)

    def _on_revoke(self, _: Any, partitions: list[Any]) -> None:
        for revoked in partitions:
            self.offsets.revoke(revoked.topic, revoked.partition)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
        self._consumer.close()

    def step(self, max_messages: int = 1000, timeout: float = 0.5) -> int:
        """Write one poll's worth of messages; returns how many were read."""
        messages = self._consumer.consume(num_messages=max_messages, timeout=timeout)
        readable = []
        for message in messages:
            error = message.error()
            if error is None:
                readable.append(message)
            elif error.fatal():
                raise RetryableError(f"Kafka consumer failed: {error}")
            else:
                logger.warning("kafka: %s", error)
        batch = self.offsets.batch(readable)
        if batch.undecodable:
            # First: once the table's txns pass a message's offset, it is never read again.
            self._quarantine(batch.undecodable)
        if batch.data is not None:
            self.lake.append(self.table, batch.data, txn=batch.txns)
            self.offsets.committed(batch)
            # Kafka's offsets are only for lag dashboards; the table's txns are the truth.
            self._consumer.commit(asynchronous=True)
        return len(readable)

    def _quarantine(self, messages: list[Undecodable]) -> None:
        """Keep `messages` in the quarantine table, with their partitions' txns there."""
        fresh = self._not_quarantined(messages)
        if not fresh:
            return
        last: dict[tuple[str, int], int] = {}
        for message in fresh:
            key = (message.topic, message.partition)
            last[key] = max(message.offset, last.get(key, -1))
            logger.error(
                "kafka: message %s of partition %s of %s is not rows (%s); quarantined in %s",
                message.offset,
                message.partition,
                message.topic,
                message.reason,
                self.quarantine,
            )
        rows = pa.Table.from_pylist(
            [
                {
                    "kafka_topic": message.topic,
                    "kafka_partition": message.partition,
                    "kafka_offset": message.offset,
                    "kafka_timestamp": message.timestamp,
                    "reason": message.reason,
                    "value": message.value,
                }
                for message in fresh
            ],
            UNDECODABLE_SCHEMA,
        )
        txns = [Txn(self.offsets.app_id(*key), offset) for key, offset in last.items()]
        self.lake.append(self.quarantine, rows, txn=txns)

    def _not_quarantined(self, messages: list[Undecodable]) -> list[Undecodable]:
        """`messages` less those quarantined before: read again after a crash, in whatever
        batch, a message is skipped by its partition's txn in the quarantine table."""
        held: dict[tuple[str, int], int] = {}
        for key in {(message.topic, message.partition) for message in messages}:
            version = self.lake.transaction_version(self.quarantine, self.offsets.app_id(*key))
            held[key] = -1 if version is None else version  # -1: before the first offset, 0
        return [m for m in messages if m.offset > held[m.topic, m.partition]]
