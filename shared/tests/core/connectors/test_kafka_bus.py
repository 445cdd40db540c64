"""Kafka bookkeeping against real Delta tables; the broker round trip only where a broker is."""

import asyncio
import os
import time
from dataclasses import dataclass

import pyarrow as pa
import pytest

from dataplatform.core.connectors.bus import encode_rows
from dataplatform.core.connectors.bus.kafka import PartitionOffsets, topic_for
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import TerminalError

TABLE = "web_user_analytics.bronze.clickstream"
TOPIC = topic_for(TABLE)
SCHEMA = pa.schema([("id", pa.string())])


@dataclass
class FakeMessage:
    """A consumed message as the bookkeeping sees it (topic, partition, offset, value)."""

    _partition: int
    _offset: int
    _id: str

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return encode_rows(SCHEMA, [{"id": self._id}])


def write(lake: Lakehouse, offsets: PartitionOffsets, messages: list[FakeMessage]) -> int:
    batch = offsets.batch(messages)
    if batch.data is not None:
        lake.append(TABLE, batch.data, txn=batch.txns)
        offsets.committed(batch)
    return batch.skipped


def ids(lake: Lakehouse) -> list[str]:
    return sorted(lake.read(TABLE)["id"].to_pylist())


def test_each_partition_gets_its_own_txn_at_its_last_offset(lake: Lakehouse) -> None:
    offsets = PartitionOffsets(lake, TABLE, "writers")
    batch = offsets.batch([FakeMessage(0, 5, "a"), FakeMessage(1, 9, "b"), FakeMessage(0, 6, "c")])

    assert sorted(batch.txns) == [
        Txn(f"kafka:writers:{TOPIC}:0", 6),
        Txn(f"kafka:writers:{TOPIC}:1", 9),
    ]
    assert sorted(batch.data["id"].to_pylist()) == ["a", "b", "c"]  # type: ignore[index]


def test_a_new_partition_starts_at_its_beginning_and_a_known_one_after_its_txn(
    lake: Lakehouse,
) -> None:
    offsets = PartitionOffsets(lake, TABLE, "writers")
    write(lake, offsets, [FakeMessage(0, 0, "a"), FakeMessage(0, 1, "b")])

    restarted = PartitionOffsets(lake, TABLE, "writers")
    assert restarted.assign(TOPIC, 0) == 2
    assert restarted.assign(TOPIC, 1) is None


def test_redelivered_messages_after_a_restart_are_skipped(lake: Lakehouse) -> None:
    first = PartitionOffsets(lake, TABLE, "writers")
    write(lake, first, [FakeMessage(0, 0, "a"), FakeMessage(0, 1, "b")])

    restarted = PartitionOffsets(lake, TABLE, "writers")
    restarted.assign(TOPIC, 0)
    skipped = write(lake, restarted, [FakeMessage(0, 1, "b"), FakeMessage(0, 2, "c")])

    assert skipped == 1
    assert ids(lake) == ["a", "b", "c"]


def test_a_partition_revoked_and_reassigned_is_read_again_from_the_table(lake: Lakehouse) -> None:
    mine = PartitionOffsets(lake, TABLE, "writers")
    mine.assign(TOPIC, 0)
    write(lake, mine, [FakeMessage(0, 0, "a")])
    mine.revoke(TOPIC, 0)
    other = PartitionOffsets(lake, TABLE, "writers")  # another consumer takes the partition
    other.assign(TOPIC, 0)
    write(lake, other, [FakeMessage(0, 1, "b")])

    assert mine.assign(TOPIC, 0) == 2  # back to us: resume after what the other one wrote
    assert write(lake, mine, [FakeMessage(0, 1, "b"), FakeMessage(0, 2, "c")]) == 1
    assert ids(lake) == ["a", "b", "c"]


def test_a_replay_of_a_whole_commit_is_a_no_op_even_without_bookkeeping(lake: Lakehouse) -> None:
    offsets = PartitionOffsets(lake, TABLE, "writers")
    batch = offsets.batch([FakeMessage(0, 3, "a"), FakeMessage(1, 4, "b")])
    lake.append(TABLE, batch.data, txn=batch.txns)  # type: ignore[arg-type]

    assert lake.append(TABLE, batch.data, txn=batch.txns).skipped  # type: ignore[arg-type]
    assert ids(lake) == ["a", "b"]


def test_a_write_only_partly_committed_is_refused(lake: Lakehouse) -> None:
    lake.append(TABLE, pa.table({"id": ["a"]}), txn=Txn("kafka:w:t:0", 3))

    with pytest.raises(TerminalError, match="already holds"):
        lake.append(
            TABLE, pa.table({"id": ["b"]}), txn=[Txn("kafka:w:t:0", 3), Txn("kafka:w:t:1", 1)]
        )


KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")


@pytest.mark.skipif(not KAFKA, reason="KAFKA_BOOTSTRAP_SERVERS is not set: no Kafka broker here")
def test_rows_published_to_kafka_reach_the_table_once(lake: Lakehouse) -> None:
    from dataplatform.core.connectors.bus.kafka import KafkaBus, KafkaIngestWorker

    async def publish() -> None:
        bus = KafkaBus(KAFKA)  # type: ignore[arg-type]
        for value in ("a", "b", "c"):
            await bus.publish(TABLE, SCHEMA, [{"id": value}])
        await bus.close()

    asyncio.run(publish())
    worker = KafkaIngestWorker(lake, KAFKA, TABLE, group=f"test-{time.time_ns()}")  # type: ignore[arg-type]
    deadline = time.monotonic() + 60
    while (not lake.exists(TABLE) or lake.read(TABLE).num_rows < 3) and time.monotonic() < deadline:
        worker.step()

    assert ids(lake) == ["a", "b", "c"]
