"""Group commit straight into bronze, inside the collector's process.

Requests that arrive while a commit is running wait together and go into the next commit, so
one Delta commit carries many requests and each request still waits for its own rows to be on
disk before it is answered.

Every group commit adds a file, and a writer's snapshot holds one entry per live file, so each
commit (and each checkpoint) costs memory and time in proportion to the files so far: the bus
compacts the table every `compact_every_commits` commits to keep that bounded. Compaction only
rewrites files (`dataChange=false`), so change-feed readers see each row once.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from dataplatform.core.connectors.bus._base import Row
from dataplatform.core.connectors.lakehouse import Lakehouse

logger = logging.getLogger(__name__)

COMPACT_EVERY_COMMITS = 100


@dataclass
class _Pending:
    schema: pa.Schema
    rows: list[Row] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class EmbeddedBus:
    """Publishes by appending to the Delta table; one committer task per table."""

    def __init__(
        self,
        lake: Lakehouse,
        commit_interval_seconds: float = 0.0,
        compact_every_commits: int = COMPACT_EVERY_COMMITS,
    ) -> None:
        self.lake = lake
        self.commit_interval_seconds = commit_interval_seconds
        self.compact_every_commits = compact_every_commits
        self._pending: dict[str, _Pending] = {}
        self._committers: dict[str, asyncio.Task[None]] = {}
        self._commits: defaultdict[str, int] = defaultdict(int)
        # One compaction of a table at a time; a later one waits and then covers newer commits.
        self._compaction_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._compactions: set[asyncio.Task[None]] = set()

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
            self._count_commit(table)

    def _count_commit(self, table: str) -> None:
        self._commits[table] += 1
        if self._commits[table] % self.compact_every_commits == 0:
            task = asyncio.create_task(self._compact(table))
            self._compactions.add(task)
            task.add_done_callback(self._compactions.discard)

    async def _compact(self, table: str) -> None:
        """Rewrite the table's small files in the background; appends go on meanwhile (an append
        never conflicts with a compaction), and a failure only delays the next one."""
        async with self._compaction_locks[table]:
            try:
                await asyncio.to_thread(self.lake.compact, table)
            except Exception:
                logger.exception(
                    "compacting %s failed; its files keep growing until a compaction succeeds",
                    table,
                )

    async def close(self) -> None:
        await asyncio.gather(*self._committers.values(), return_exceptions=True)
        await asyncio.gather(*self._compactions, return_exceptions=True)
