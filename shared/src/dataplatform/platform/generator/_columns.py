"""Synthetic traffic straight into bronze, as columns: half a million events a second, not thousands.

`_days` draws what happens as numbers, `_envelope` turns a batch of days into the collector's
rows, and here the batches are committed. delta-rs encodes and commits a batch outside the GIL
while the next batch is drawn, so both cores work.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from dataplatform.platform.generator._days import Columns, People, days, joined, people
from dataplatform.platform.generator._envelope import app_table, web_table
from dataplatform.platform.generator._text import reusing_memory
from dataplatform.platform.generator._volume import Volume

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.core.connectors.lakehouse import Lakehouse

# Events per Delta commit: few commits (a hundred for 20M events), and batches small enough
# that the memory of one already committed holds the next one's text (see `reusing_memory`).
BATCH_ROWS = 200_000
_TABLES: dict[str, Callable[[Columns, People, datetime], "pa.Table"]] = {
    "mobile": app_table,
    "web": web_table,
}


def write_columns(
    volume: Volume,
    lake: "Lakehouse",
    destinations: dict[str, str],
    *,
    batch_rows: int = BATCH_ROWS,
    on_written: Callable[[int], None] = lambda _: None,
) -> int:
    """Write the volume's traffic to the bronze tables in `destinations` (`mobile`, `web`).

    One commit per table per batch of `batch_rows` events (the last one fewer); returns how
    many were written.
    """
    crowd = people(volume)
    written = 0

    def committed(commit: Future[int]) -> int:
        rows = commit.result()
        on_written(rows)
        return rows

    # One writer per table: a table's commits stay in order, and each waits for its last.
    with reusing_memory(), ThreadPoolExecutor(len(_TABLES), thread_name_prefix="bronze") as writers:
        committing: dict[str, Future[int]] = {}
        for kind, events in _batches(days(volume, crowd), batch_rows):
            table = _TABLES[kind](events, crowd, volume.start)
            if kind in committing:
                written += committed(committing.pop(kind))
            committing[kind] = writers.submit(_append, lake, destinations[kind], table)
        for commit in committing.values():
            written += committed(commit)
    return written


def _append(lake: "Lakehouse", table: str, rows: "pa.Table") -> int:
    lake.append(table, rows)
    return int(rows.num_rows)


def _batches(
    every_day: Iterator[tuple[Columns, Columns]], batch_rows: int
) -> Iterator[tuple[str, Columns]]:
    """(table, events), `batch_rows` events at a time, then what is left (if anything, or if
    the table has had nothing yet: an empty commit still creates it)."""
    pending: dict[str, list[Columns]] = {kind: [] for kind in _TABLES}
    size = dict.fromkeys(_TABLES, 0)
    sent = set()
    for day in every_day:
        for kind, events in zip(_TABLES, day, strict=True):
            pending[kind].append(events)
            size[kind] += events["second"].size
            if size[kind] >= batch_rows:
                held = joined(pending[kind])
                whole = size[kind] - size[kind] % batch_rows
                for low in range(0, whole, batch_rows):
                    yield kind, _rows(held, low, low + batch_rows)
                pending[kind], size[kind] = [_rows(held, whole, size[kind])], size[kind] - whole
                sent.add(kind)
    for kind, days_left in pending.items():
        if days_left and (size[kind] or kind not in sent):
            yield kind, joined(days_left)


def _rows(events: Columns, low: int, high: int) -> Columns:
    return {name: column[low:high] for name, column in events.items()}
