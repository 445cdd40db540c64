"""Group commit straight into bronze, inside the collector's process.

Requests that arrive while a commit is running wait together and go into the next commit, so
one Delta commit carries many requests and each request still waits for its own rows to be on
disk before it is answered.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from dataplatform.core.connectors.bus._base import Row
from dataplatform.core.connectors.lakehouse import Lakehouse

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    schema: pa.Schema
    rows: list[Row] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class EmbeddedBus:
    """Publishes by appending to the Delta table; one committer task per table."""

    def __init__(self, lake: Lakehouse, commit_interval_seconds: float = 0.0) -> None:
        self.lake = lake
        self.commit_interval_seconds = commit_interval_seconds
        self._pending: dict[str, _Pending] = {}
        self._committers: dict[str, asyncio.Task[None]] = {}

    async def publish(self, table: str, schema: pa.Schema, rows: Sequence[Row]) -> None:
        if not rows:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = self._pending.setdefault(table, _Pending(schema))
        pending.rows.extend(rows)
        pending.waiters.append(waiter)
        if table not in self._committers or self._committers[table].done():
            self._committers[table] = asyncio.create_task(self._commit_until_empty(table))
        await waiter

    async def _commit_until_empty(self, table: str) -> None:
        while True:
            # Let requests gather: fewer, larger commits keep the Delta log short.
            await asyncio.sleep(self.commit_interval_seconds)
            pending = self._pending.pop(table, None)
            if pending is None:
                return
            try:
                data = pa.Table.from_pylist(pending.rows, schema=pending.schema)
                await asyncio.to_thread(self.lake.append, table, data)
            except Exception as exc:
                logger.exception(
                    "group commit to %s failed", table, extra={"rows": len(pending.rows)}
                )
                for waiter in pending.waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for waiter in pending.waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def close(self) -> None:
        await asyncio.gather(*self._committers.values(), return_exceptions=True)
