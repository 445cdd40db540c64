"""The Redis Streams bus against the real Redis at 127.0.0.1:6379."""

import asyncio
from datetime import UTC, datetime

import pyarrow as pa
import pytest
import redis

from dataplatform.core.connectors.bus.redis import (
    RedisIngestWorker,
    RedisStreamBus,
    stream_id_version,
    stream_key,
)
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import QUARANTINE_SCHEMA

TABLE = "mobile_user_analytics.quarantine.app_events"


def rows(*reasons: str) -> list[dict[str, object]]:
    at = datetime(2026, 11, 25, tzinfo=UTC)
    return [
        {
            "received_at": at,
            "source_id": "ios",
            "wire_format": "segment",
            "batch_index": i,
            "field": "f",
            "reason": r,
            "raw": "{}",
        }
        for i, r in enumerate(reasons)
    ]


def publish(url: str, *batches: list[dict[str, object]]) -> None:
    async def send() -> None:
        bus = RedisStreamBus(url)
        for batch in batches:
            await bus.publish(TABLE, QUARANTINE_SCHEMA, batch)
        await bus.close()

    asyncio.run(send())


def reasons(lake: Lakehouse) -> list[str]:
    return sorted(lake.read(TABLE)["reason"].to_pylist())


def test_stream_ids_become_rising_txn_versions() -> None:
    assert stream_id_version("1700000000000-0") < stream_id_version("1700000000000-1")
    assert stream_id_version(b"1700000000000-5") < stream_id_version("1700000000001-0")


@pytest.mark.redis
def test_published_rows_reach_the_table_once(redis_url: str, lake: Lakehouse) -> None:
    publish(redis_url, rows("a", "b"), rows("c"))
    worker = RedisIngestWorker(lake, redis_url, TABLE, block_ms=10)

    moved = worker.step()
    idle = worker.step()

    assert (moved, idle) == (2, 0)
    assert reasons(lake) == ["a", "b", "c"]
    assert (
        redis.Redis.from_url(redis_url).xpending(stream_key(TABLE), "bronze-writers")["pending"]
        == 0
    )
    worker.close()


@pytest.mark.redis
def test_a_crash_between_commit_and_ack_does_not_duplicate(
    redis_url: str, lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(redis_url, rows("a", "b"))
    crashing = RedisIngestWorker(lake, redis_url, TABLE, block_ms=10)

    def lose_the_ack(*_: object) -> None:
        raise redis.ConnectionError("worker died before acknowledging")

    monkeypatch.setattr(crashing._redis, "xack", lose_the_ack)
    with pytest.raises(redis.ConnectionError):
        crashing.step()
    publish(redis_url, rows("c"))
    restarted = RedisIngestWorker(lake, redis_url, TABLE, block_ms=10)
    first, second = restarted.step(), restarted.step()

    assert (first, second) == (1, 1)  # the pending entry is acknowledged, then the new one moves
    assert reasons(lake) == ["a", "b", "c"]
    assert lake.version(TABLE) == 1


@pytest.mark.redis
def test_rows_travel_with_their_types(redis_url: str, lake: Lakehouse) -> None:
    publish(redis_url, rows("typed"))
    RedisIngestWorker(lake, redis_url, TABLE, block_ms=10).step()

    stored = lake.read(TABLE)
    assert stored.schema.field("received_at").type == pa.timestamp("us", tz="UTC")
    assert stored.to_pylist()[0]["received_at"] == datetime(2026, 11, 25, tzinfo=UTC)
