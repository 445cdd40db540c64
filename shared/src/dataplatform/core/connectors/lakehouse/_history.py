"""Removing rows from a table's history, not only from its latest version.

Deleting rows writes new files; the old ones stay until a vacuum, and a vacuum never removes
the change-data files (`_change_data/`) in which deletes and merges keep images of the rows
they touched. Those files stay referenced by their commits, with their size, and readers of
the change feed fetch them by that size, so a file is never deleted or rewritten shorter: it
is rewritten without the rows, then padded back to its recorded size (Parquet readers find the
footer from the end and the column chunks by offset, so the bytes between the last chunk and
the footer are never read).

The log is scrubbed the same way: the file statistics (min/max values) of commits and
checkpoints naming the rows are dropped. Statistics are optional in the Delta protocol (a
reader without them only skips fewer files), while dropping whole commits would break every
incremental reader that has not read past them.

Interrupted, nothing is lost and nothing breaks: each file is replaced whole (`_files.py`)
and keeps its size, and the vacuum removes only files no version still read needs, so every
step leaves every remaining version readable. A process that dies part way leaves the rows in
the files it had not reached yet (the file it was writing included); running the same purge
again finishes the work, since a file without the rows, or a log entry without statistics
naming them, is left as it is.
"""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataplatform.core.connectors.lakehouse._files import LOG_FOLDER, TableFiles
from dataplatform.core.errors import TerminalError

# The rows of a table to find or remove: a boolean mask over them (nulls count as not picked).
RowMatcher = Callable[[pa.Table], pa.ChunkedArray | pa.Array]

_FILE_ACTIONS = ("add", "remove", "cdc")  # log actions that may carry a file's statistics
_STATISTICS = ("stats", "stats_parsed")  # as JSON text, and as a struct in checkpoints
_FOOTER_TAIL = 8  # the footer's length (4 bytes) and the closing magic `PAR1`
_STRONGEST_ZSTD = 22


@dataclass(frozen=True)
class Scrubbed:
    """Change-data files rewritten without the rows, and how many rows they lost."""

    files: int
    rows: int


@dataclass(frozen=True)
class Purged:
    """What a purge of a table's history did."""

    files_vacuumed: int
    change_files_scrubbed: int
    change_rows_scrubbed: int
    log_files_scrubbed: int


@dataclass(frozen=True)
class FilesNaming:
    """Paths, relative to the table, of its data and change-data files and its log files
    that name one of the values looked for."""

    data: list[str]
    log: list[str]


def as_plain_text(table: pa.Table) -> pa.Table:
    """`table` with string views and large strings as plain strings, nested ones too (pyarrow's
    compute kernels do not all take views, which delta-rs writes)."""
    plain = pa.schema(field.with_type(_plain_type(field.type)) for field in table.schema)
    return table if plain == table.schema else table.cast(plain)


def _plain_type(data_type: pa.DataType) -> pa.DataType:
    if data_type in (pa.string_view(), pa.large_string()):
        return pa.string()
    if pa.types.is_struct(data_type):
        return pa.struct(
            data_type.field(i).with_type(_plain_type(data_type.field(i).type))
            for i in range(data_type.num_fields)
        )
    if pa.types.is_list(data_type):
        return pa.list_(data_type.value_field.with_type(_plain_type(data_type.value_type)))
    if pa.types.is_large_list(data_type):
        return pa.large_list(data_type.value_field.with_type(_plain_type(data_type.value_type)))
    return data_type


def files_holding(files: TableFiles, matches: RowMatcher, columns: Iterable[str]) -> list[str]:
    """Data and change-data files, of any version still on storage, with a row `matches` picks
    (reading only `columns`)."""
    wanted = list(columns)
    return [path for path in files.data_files() if _count(files, path, wanted, matches)]


def files_naming(files: TableFiles, texts: Iterable[str]) -> FilesNaming:
    """The table's files in which a text value holds one of `texts` (nested values too: rows
    and log entries are searched as JSON)."""
    needles = _needles(texts)
    return FilesNaming(
        [path for path in files.data_files() if _names(files, path, needles)],
        [path for path in files.log_files() if _names(files, path, needles)],
    )


def scrub_change_data(files: TableFiles, paths: Iterable[str], matches: RowMatcher) -> Scrubbed:
    """Rewrite each change-data file of `paths` without the rows `matches` picks, at its size."""
    rewritten = rows = 0
    sizes = files.listing()
    for path in paths:
        content = as_plain_text(files.parquet(path))
        picked = pc.fill_null(matches(content), False)
        removed = int(pc.sum(picked).as_py() or 0)
        if removed == 0:
            continue
        kept = content.filter(pc.invert(picked))
        files.replace(path, _padded(path, kept, files.compression(path), sizes[path]))
        rewritten += 1
        rows += removed
    return Scrubbed(rewritten, rows)


def commit_change_files(files: TableFiles, version: int) -> list[str]:
    """The change-data files the commit of `version` wrote (its `cdc` actions)."""
    commit = f"{LOG_FOLDER}/{version:020d}.json"
    if commit not in files.listing(LOG_FOLDER):
        return []
    actions = [orjson.loads(line) for line in files.read_bytes(commit).splitlines() if line.strip()]
    return [action["cdc"]["path"] for action in actions if "cdc" in action]


def scrub_log(files: TableFiles, texts: Iterable[str]) -> int:
    """Drop the file statistics naming one of `texts` from the log (commits and checkpoints);
    how many log files were rewritten."""
    needles = _needles(texts)
    rewritten = 0
    for path in files.log_files():
        if not _names(files, path, needles):
            continue
        if path.endswith(".json"):
            content = _commit_without_statistics(files.read_bytes(path), needles)
        else:
            checkpoint = _checkpoint_without_statistics(files.parquet(path))
            content = _parquet_bytes(checkpoint, files.compression(path))
        files.replace(path, content)
        rewritten += 1
    return rewritten


def _count(files: TableFiles, path: str, columns: list[str], matches: RowMatcher) -> int:
    rows = as_plain_text(files.parquet(path, columns))
    if rows.num_rows == 0 or rows.num_columns == 0:
        return 0
    return int(pc.sum(pc.fill_null(matches(rows), False)).as_py() or 0)


def _needles(texts: Iterable[str]) -> list[bytes]:
    """`texts` as they appear inside JSON strings (quotes and backslashes escaped)."""
    return [orjson.dumps(text)[1:-1] for text in texts]


def _names(files: TableFiles, path: str, needles: list[bytes]) -> bool:
    if path.endswith(".json"):
        text = files.read_bytes(path)
    else:
        text = orjson.dumps(files.parquet(path).to_pylist(), default=str)
    return any(needle in text for needle in needles)


def _padded(path: str, rows: pa.Table, codec: str, size: int) -> bytes:
    """`rows` as Parquet of exactly `size` bytes: zeros between the last chunk and the footer."""
    written = _parquet_bytes(rows, codec)
    if len(written) > size:
        written = _parquet_bytes(rows, "zstd", level=_STRONGEST_ZSTD)
    if len(written) > size:
        raise TerminalError(
            f"Cannot rewrite `{path}` without the rows: it would take {len(written)} bytes, more "
            f"than the {size} bytes its commit records; remove it by hand once no reader of the "
            "change feed needs its version."
        )
    tail = int.from_bytes(written[-_FOOTER_TAIL:-4], "little") + _FOOTER_TAIL
    return written[:-tail] + bytes(size - len(written)) + written[-tail:]


def _commit_without_statistics(commit: bytes, needles: list[bytes]) -> bytes:
    lines = []
    for line in commit.splitlines():
        if line.strip() and any(needle in line for needle in needles):
            action = orjson.loads(line)
            for kind in _FILE_ACTIONS:
                if isinstance(action.get(kind), dict):
                    for statistics in _STATISTICS:
                        action[kind].pop(statistics, None)
            line = orjson.dumps(action)
        lines.append(line)
    return b"\n".join(lines) + b"\n"


def _checkpoint_without_statistics(checkpoint: pa.Table) -> pa.Table:
    for kind in _FILE_ACTIONS:
        if kind not in checkpoint.column_names:
            continue
        actions = checkpoint[kind].combine_chunks()
        if not {field.name for field in actions.type} & set(_STATISTICS):
            continue
        children = [
            pa.nulls(len(actions), field.type) if field.name in _STATISTICS else actions.field(i)
            for i, field in enumerate(actions.type)
        ]
        rebuilt = pa.StructArray.from_arrays(
            children, fields=list(actions.type), mask=actions.is_null()
        )
        index = checkpoint.column_names.index(kind)
        checkpoint = checkpoint.set_column(index, checkpoint.schema.field(index), rebuilt)
    return checkpoint


def _parquet_bytes(rows: pa.Table, codec: str, level: int | None = None) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression=codec, compression_level=level)
    return buffer.getvalue()
