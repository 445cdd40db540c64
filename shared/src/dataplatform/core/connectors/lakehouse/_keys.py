"""The rows of some keys, read from only the Parquet row groups that hold them.

A lookup by a random id (a browser, a person) is pruned by nothing in a table's Delta log: every
file holds ids from the whole range. A table the lake's maintenance sorted by the key
(`cluster_by`) has row groups of narrow key ranges instead, so the footer of each file says
which of its row groups may hold one of the keys. Those row groups' key column is read first
and only the row groups that do hold a key are read whole; a key that is not there yet (a new
browser) costs its key column only. Files written since the last compaction are small and
unsorted, and are looked up by the same rule.

Delta never rewrites a data file in place (every version writes new files under new names), so
what a lookup learns of a file is kept per process in two bounded LRUs: each row group's key
range from the footer, and a row group's distinct keys once its key column was read. A lookup
after the first then reads only the row groups holding its keys, even where the ranges rule
nothing out (a table partitioned by day, looked up by user).
"""

import threading
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from cachetools import LRUCache

# (file, key column) footers kept: the key range of each row group, a few hundred bytes a file.
FOOTERS_KEPT = 16_384
# Distinct keys kept of the row groups whose key column was read: about 20-60 bytes each.
KEYS_KEPT = 2_000_000

# A row group whose key range is unknown (no statistics): it may hold any key.
_ANY = (None, None)


@dataclass(frozen=True)
class KeyRows:
    """The rows a lookup found, and how much it read to find them."""

    rows: pa.Table
    row_groups_read: int  # read whole: each holds a key
    # Row groups of the files the lookup looked at (all of them, or those `where` kept).
    row_groups: int
    files_read: int  # files some row group was read from


@dataclass(frozen=True)
class _FileRanges:
    """A file's row groups that may hold a key: (index, rows, lowest, highest key), None where
    unknown; row groups whose key column is all null are left out (a null matches nothing)."""

    ranges: tuple[tuple[int, int, Any, Any], ...]
    row_groups: int


_footers: LRUCache[tuple[str, str], _FileRanges] = LRUCache(FOOTERS_KEPT)
# (file, key column, row group): its distinct keys.
_row_group_keys: LRUCache[tuple[str, str, int], pa.Array] = LRUCache(
    KEYS_KEPT, getsizeof=lambda keys: max(1, len(keys))
)
_lock = threading.Lock()


def prunes_by_row_group(data: pa.Table | ds.Dataset) -> bool:
    """Whether `data` is a whole set of Parquet files `read_keys` can prune (a dataset
    filtered in pyarrow hides its files, and rows in memory have none)."""
    if not isinstance(data, ds.FileSystemDataset) or not isinstance(
        data.format, ds.ParquetFileFormat
    ):
        return False
    try:
        data.get_fragments(filter=ds.scalar(False))
    except ValueError:  # "fragments of a filtered or projected dataset" are not handed out
        return False
    return True


def read_keys(
    dataset: ds.FileSystemDataset,
    column: str,
    keys: pa.Array | pa.ChunkedArray,
    *,
    where: ds.Expression | None = None,
) -> KeyRows:
    """The rows of `dataset` whose `column` is one of `keys` (nulls match nothing), read from
    the row groups that hold one.

    `where` narrows the rows further (the files its partition values rule out are not opened).
    The rows come in `dataset`'s schema, whatever type each file wrote a column as (delta-rs's
    merge writes strings as `string_view`, its appends as `string`).
    """
    kind = dataset.schema.field(column).type
    wanted = _sorted_keys(keys, kind)
    in_order = wanted.to_pylist()
    found, row_groups, read, files = [], 0, 0, 0
    for fragment in dataset.get_fragments(filter=where if where is not None else ds.scalar(True)):
        ranges = _ranges_of(fragment, column, kind)
        row_groups += ranges.row_groups
        may_hold = {i for i, _, low, high in ranges.ranges if _may_hold(in_order, low, high)}
        if not may_hold:
            continue
        held = _keys_of(fragment, column, ranges, may_hold)
        holding = [
            index for index in sorted(may_hold) if pc.any(_is_key(held[index], wanted)).as_py()
        ]
        if not holding:
            continue
        files += 1
        read += len(holding)
        with pq.ParquetFile(fragment.filesystem.open_input_file(fragment.path)) as parquet:
            rows = parquet.read_row_groups(holding)
        # Typed first: pyarrow filters no `string_view` column.
        rows = _conformed(rows, dataset.schema, fragment.partition_expression)
        rows = rows.filter(_is_key(rows[column], wanted))
        # File by file, so that what `where` drops is never held all at once.
        found.append(rows if where is None else rows.filter(where))
    rows = pa.concat_tables(found) if found else dataset.schema.empty_table()
    return KeyRows(rows, read, row_groups, files)


def _keys_of(
    fragment: ds.ParquetFileFragment, column: str, ranges: _FileRanges, wanted: set[int]
) -> dict[int, pa.Array]:
    """The distinct keys of the `wanted` row groups: from the LRU, or their key column read."""
    held: dict[int, pa.Array] = {}
    with _lock:
        for index in wanted:
            keys = _row_group_keys.get((fragment.path, column, index))
            if keys is not None:
                held[index] = keys
    missing = [
        (index, rows) for index, rows, *_ in ranges.ranges if index not in held and index in wanted
    ]
    if not missing:
        return held
    with pq.ParquetFile(fragment.filesystem.open_input_file(fragment.path)) as parquet:
        values = parquet.read_row_groups([index for index, _ in missing], columns=[column])
    values = values[column].cast(_plain(values.schema.field(column).type))
    start = 0
    for index, rows in missing:
        held[index] = pc.unique(values.slice(start, rows)).drop_null()
        start += rows
    with _lock:
        for index, _ in missing:
            if len(held[index]) <= KEYS_KEPT:  # a larger one is read again next time
                _row_group_keys[(fragment.path, column, index)] = held[index]
    return held


def _conformed(rows: pa.Table, schema: pa.Schema, partition: ds.Expression) -> pa.Table:
    """A file's rows in the dataset's schema: its partition values (Delta keeps them out of the
    files), nulls for the columns it was written without, every column cast to its type."""
    values = ds.get_partition_keys(partition)
    columns = [
        rows[field.name].cast(field.type)
        if field.name in rows.schema.names
        else pa.repeat(pa.scalar(values.get(field.name), field.type), rows.num_rows)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _sorted_keys(keys: pa.Array | pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    """The distinct non-null keys, in order where the statistics can be compared with them."""
    plain = _plain(kind)
    values = pc.unique(keys.cast(plain) if keys.type != plain else keys).drop_null()
    return values.take(pc.sort_indices(values)) if _orders(kind) else values


def _is_key(values: pa.ChunkedArray, keys: pa.Array) -> pa.ChunkedArray:
    plain = _plain(values.type)
    mask: pa.ChunkedArray = pc.is_in(values.cast(plain), value_set=keys.cast(plain))
    return mask


def _may_hold(keys: list[Any], low: Any, high: Any) -> bool:
    """Whether a sorted key falls in [low, high] (an unknown range may hold any)."""
    if not keys:
        return False
    if low is None or high is None:
        return True
    at = bisect_left(keys, low)
    return at < len(keys) and bool(keys[at] <= high)


def _ranges_of(fragment: ds.ParquetFileFragment, column: str, kind: pa.DataType) -> _FileRanges:
    """The file's row-group key ranges, from the LRU or its footer."""
    cache_key = (fragment.path, column)
    with _lock:
        kept = _footers.get(cache_key)
    if kept is not None:
        return kept
    ranges = _parse_ranges(fragment.metadata, column, kind)
    with _lock:
        _footers[cache_key] = ranges
    return ranges


def _parse_ranges(metadata: Any, column: str, kind: pa.DataType) -> _FileRanges:
    leaves = [metadata.schema.column(index).path for index in range(metadata.num_columns)]
    if column not in leaves:  # written before the column was added: null in every row
        return _FileRanges((), metadata.num_row_groups)
    leaf = leaves.index(column)
    ranges = []
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        statistics = group.column(leaf).statistics
        if statistics is None:
            ranges.append((index, group.num_rows, *_ANY))
        elif statistics.has_null_count and statistics.null_count == group.num_rows:
            continue  # only nulls: no key is here
        elif (
            statistics.has_min_max
            and _comparable(statistics.min, kind)
            and _comparable(statistics.max, kind)
        ):
            ranges.append((index, group.num_rows, statistics.min, statistics.max))
        else:
            ranges.append((index, group.num_rows, *_ANY))
    return _FileRanges(tuple(ranges), metadata.num_row_groups)


def _comparable(value: Any, kind: pa.DataType) -> bool:
    """Whether a statistic orders like the keys (a string statistic cut inside a character
    comes back as bytes, and is not used)."""
    if _is_text(kind):
        return isinstance(value, str)
    if pa.types.is_integer(kind):
        return isinstance(value, int)
    if pa.types.is_date(kind):
        return isinstance(value, date)
    return False


def _orders(kind: pa.DataType) -> bool:
    """Whether keys of this type are compared with row-group statistics: text, whole numbers
    and days (others are read whatever their statistics)."""
    return _is_text(kind) or bool(pa.types.is_integer(kind) or pa.types.is_date(kind))


def _plain(kind: pa.DataType) -> pa.DataType:
    return pa.string() if _is_text(kind) else kind


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )
