"""Kafka bookkeeping against real Delta tables, from messages made here; the real broker's
tests are in test_kafka_broker.py."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from dataplatform.core.connectors.bus import encode_rows
from dataplatform.core.connectors.bus.kafka import PartitionOffsets, topic_for, undecodable_table
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import TerminalError

TABLE = "web_user_analytics.bronze.clickstream"
TOPIC = topic_for(TABLE)
SCHEMA = pa.schema([("id", pa.string())])


CREATED_AT_MS = 1_790_000_000_000  # the CreateTime the producer stamps on a message


@dataclass
class FakeMessage:
    """A consumed message as the bookkeeping sees it (topic, partition, offset, value, time)."""

    _partition: int
    _offset: int
    _id: str

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return encode_rows(SCHEMA, [{"id": self._id}])

    def timestamp(self) -> tuple[int, int]:
        return (1, CREATED_AT_MS)


@dataclass
class ForeignMessage(FakeMessage):
    """A message some other producer wrote to the topic: its value is not rows."""

    _value: bytes | None = b"{'id': 'not arrow'}"

    def value(self) -> bytes | None:
        return self._value


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


def test_a_message_that_is_not_rows_is_set_apart_and_still_moves_its_partitions_txn(
    lake: Lakehouse,
) -> None:
    offsets = PartitionOffsets(lake, TABLE, "writers")
    batch = offsets.batch(
        [
            FakeMessage(0, 5, "a"),
            ForeignMessage(0, 6, ""),
            ForeignMessage(1, 2, "", None),
            FakeMessage(0, 7, "b"),
        ]
    )

    assert batch.data is not None
    assert batch.data["id"].to_pylist() == ["a", "b"]
    assert [(u.partition, u.offset, u.value) for u in batch.undecodable] == [
        (0, 6, b"{'id': 'not arrow'}"),
        (1, 2, None),
    ]
    assert "not an Arrow IPC stream" in batch.undecodable[0].reason
    assert "tombstone" in batch.undecodable[1].reason
    assert batch.undecodable[0].timestamp == datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)
    assert sorted(batch.txns) == [
        Txn(f"kafka:writers:{TOPIC}:0", 7),
        Txn(f"kafka:writers:{TOPIC}:1", 2),
    ]


def test_undecodable_messages_of_a_bronze_table_go_to_its_quarantine() -> None:
    assert undecodable_table(TABLE) == "web_user_analytics.quarantine.bronze_clickstream"
