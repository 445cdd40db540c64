"""Redis Streams: the collector appends, one ingestion worker per table writes bronze.

Exactly once: each bronze commit carries a Delta txn whose version is the last stream ID it
holds, and messages are acknowledged only after that commit. A worker restarted after a crash
reads its own pending messages first and skips those the table already holds.
"""

import logging
import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from dataplatform.core.connectors.bus._base import Row, decode_rows, encode_rows
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import extra_required

with extra_required("redis", "The Redis bus (`bus: redis`)"):
    import redis
    import redis.asyncio

logger = logging.getLogger(__name__)
STREAM_PREFIX = "dataplatform:bus:"
_SEQUENCE_BITS = 20  # entries per millisecond a stream ID can number, as a version's low bits


# The consumer group of the ingestion workers; the platform measures the bus lag against it.
BRONZE_WRITERS = "bronze-writers"


def stream_key(table: str) -> str:
    return f"{STREAM_PREFIX}{table}"


def stream_id_version(stream_id: str | bytes) -> int:
    """A Redis stream ID (`<ms>-<seq>`) as one rising integer, usable as a Delta txn version."""
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    millis, sequence = (int(part) for part in text.split("-"))
    if sequence >= 1 << _SEQUENCE_BITS:
        raise ValueError(f"stream ID {text} has a sequence too large to encode")
    return (millis << _SEQUENCE_BITS) | sequence


class RedisStreamBus:
    """Publishes each request's rows as one stream entry; returns once Redis has it."""

    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.from_url(url)

    async def publish(self, table: str, schema: pa.Schema, rows: Sequence[Row]) -> None:
        if rows:
            await self._redis.xadd(stream_key(table), {"rows": encode_rows(schema, rows)})

    async def close(self) -> None:
        await self._redis.aclose()


class RedisIngestWorker:
    """Moves one table's stream into its Delta table, exactly once."""

    def __init__(
        self,
        lake: Lakehouse,
        url: str,
        table: str,
        *,
        group: str = BRONZE_WRITERS,
        consumer: str = "worker-1",
        batch_messages: int = 2000,
        block_ms: int = 500,
    ) -> None:
        self.lake = lake
        self.table = table
        self.key = stream_key(table)
        self.group = group
        self.consumer = consumer
        # One ordered writer per (group, table, consumer): its versions only ever rise.
        self.app_id = f"redis:{group}:{table}:{consumer}"
        self.batch_messages = batch_messages
        self.block_ms = block_ms
        self._redis = redis.Redis.from_url(url)
        self._ensure_group()

    def _ensure_group(self) -> None:
        try:
            self._redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event) -> None:
        """Move batches until `stop` is set."""
        logger.info("ingesting %s from Redis", self.table, extra={"app_id": self.app_id})
        while not stop.is_set():
            self.step()

    def step(self) -> int:
        """Move one batch: this consumer's pending entries first, then new ones. Returns its size."""
        entries = self._read("0") or self._read(">", block=True)
        if not entries:
            return 0
        committed = self.lake.transaction_version(self.table, self.app_id) or -1
        fresh = [
            (entry_id, fields)
            for entry_id, fields in entries
            if stream_id_version(entry_id) > committed and self._readable(entry_id, fields)
        ]
        if fresh:
            data = pa.concat_tables(decode_rows(fields[b"rows"]) for _, fields in fresh)
            last = stream_id_version(fresh[-1][0])
            self.lake.append(self.table, data, txn=Txn(self.app_id, last))
        self._redis.xack(self.key, self.group, *(entry_id for entry_id, _ in entries))
        return len(entries)

    def _readable(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> bool:
        if fields and b"rows" in fields:
            return True
        # Only a stream trimmed below unacknowledged entries does this: say so, loudly.
        logger.error(
            "entry %s of %s is gone from the stream; its rows are lost", entry_id, self.key
        )
        return False

    def _read(self, start: str, block: bool = False) -> list[tuple[bytes, dict[bytes, bytes]]]:
        answer: Any = self._redis.xreadgroup(
            self.group,
            self.consumer,
            {self.key: start},
            count=self.batch_messages,
            block=self.block_ms if block else None,
        )
        return list(answer[0][1]) if answer else []

    def close(self) -> None:
        self._redis.close()
