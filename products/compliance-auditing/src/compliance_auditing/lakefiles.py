"""A table's files on disk: finding rows in them, and scrubbing change-data files in place.

Deleting rows from a Delta table only writes new files; the old ones stay until a vacuum, and
delta-rs's vacuum never removes the change-data files (`_change_data/`) in which deletes and
merges keep images of the rows they touched. Those files are still referenced by their commits,
with their size, and readers of the change feed (every incremental model) fetch them by that
size, so a file cannot simply be deleted or rewritten shorter: it is rewritten without the rows,
then padded back to its recorded size (Parquet readers find the footer from the end and the
column chunks by offset, so bytes between the last chunk and the footer are never read).

The log is scrubbed the same way: the file statistics (min/max values) of commits and older
checkpoints that name a person are dropped. Statistics are optional in the Delta protocol (a
reader without them only skips fewer files), while dropping whole commits would break every
incremental reader that has not read past them; tables declare their person columns, so files
written since carry no statistics of them anyway.

Only local lake roots are handled here; a remote root is refused by name.
"""

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataplatform.core.connectors.lakehouse import Lakehouse, TableName
from dataplatform.core.errors import TerminalError

logger = logging.getLogger(__name__)

LOG_FOLDER = "_delta_log"
CHANGE_DATA_FOLDER = "_change_data"
_FILE_ACTIONS = ("add", "remove", "cdc")  # log actions that may carry a file's statistics
_FOOTER_TAIL = 8  # the footer's length (4 bytes) and the closing magic `PAR1`

# Rows of a table to find or remove: a mask over them.
RowMatcher = Callable[[pa.Table], pa.ChunkedArray | pa.Array]


@dataclass(frozen=True)
class Scrubbed:
    files: int
    rows: int


def table_folder(lake: Lakehouse, table: str) -> Path:
    """Where `table` lives on disk; refuses remote lake roots."""
    if not lake.is_local:
        raise TerminalError(
            f"Working on the files of `{table}` needs a local lake root, not `{lake.root}`; "
            "run the erasure and retention against a local lake, or scrub the object store "
            "with its own tools."
        )
    return Path(lake.root) / TableName.parse(table).relative_path


def data_files(folder: Path) -> list[Path]:
    """Every Parquet file of the table outside its log: data files (current or tombstoned)
    and change-data files."""
    return sorted(p for p in folder.rglob("*.parquet") if LOG_FOLDER not in p.parts)


def change_data_files(folder: Path) -> list[Path]:
    return sorted((folder / CHANGE_DATA_FOLDER).rglob("*.parquet"))


def commit_change_files(folder: Path, version: int) -> list[Path]:
    """The change-data files the commit of `version` wrote (its `cdc` actions)."""
    commit = folder / LOG_FOLDER / f"{version:020d}.json"
    if not commit.exists():
        return []
    paths = []
    for line in commit.read_bytes().splitlines():
        action = orjson.loads(line) if line.strip() else {}
        if "cdc" in action:
            paths.append(folder / action["cdc"]["path"])
    return paths


def read_file(path: Path, columns: Iterable[str] | None = None) -> pa.Table:
    """A Parquet file's rows (only `columns` it has, when given), text as plain strings."""
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [c for c in columns if c in present]
    return as_plain_text(pq.read_table(path, columns=columns))


def as_plain_text(table: pa.Table) -> pa.Table:
    """`table` with string views and large strings as plain strings (pyarrow's compute kernels
    do not all take views, which delta-rs writes)."""
    text = (pa.string_view(), pa.large_string())
    if not any(field.type in text for field in table.schema):
        return table
    return table.cast(
        pa.schema(f.with_type(pa.string()) if f.type in text else f for f in table.schema)
    )


def count_matching(path: Path, columns: Iterable[str], matches: RowMatcher) -> int:
    """How many rows of the file `matches` picks, reading only `columns`."""
    rows = read_file(path, columns)
    if rows.num_rows == 0 or rows.num_columns == 0:
        return 0
    return int(pc.sum(matches(rows)).as_py() or 0)


def scrub_change_data(paths: Iterable[Path], matches: RowMatcher) -> Scrubbed:
    """Rewrite each change-data file without the rows `matches` picks, at its own size."""
    files = rows = 0
    for path in paths:
        content = read_file(path)
        picked = pc.fill_null(matches(content), False)
        removed = int(pc.sum(picked).as_py() or 0)
        if removed == 0:
            continue
        rewrite_keeping_size(path, content.filter(pc.invert(picked)))
        files += 1
        rows += removed
    return Scrubbed(files, rows)


def rewrite_keeping_size(path: Path, rows: pa.Table) -> None:
    """Replace the Parquet file at `path` with `rows`, padded to the file's current size."""
    size = path.stat().st_size
    written = _parquet_bytes(rows, _codec(path))
    if len(written) > size:
        written = _parquet_bytes(rows, "zstd", level=22)
    if len(written) > size:
        raise TerminalError(
            f"Cannot scrub `{path}`: without the rows it is {len(written)} bytes, more than the "
            f"{size} bytes its commit records; remove it by hand once no reader of the change "
            "feed needs its version."
        )
    footer_length = int.from_bytes(written[-_FOOTER_TAIL:-4], "little")
    body, footer = (
        written[: -(footer_length + _FOOTER_TAIL)],
        written[-(footer_length + _FOOTER_TAIL) :],
    )
    _replace(path, body + bytes(size - len(written)) + footer)


def files_naming(paths: Iterable[Path], needles: Iterable[str]) -> list[Path]:
    """The files among `paths` in which any text value holds one of `needles` (nested values
    included: the rows are searched as JSON)."""
    encoded = [orjson.dumps(needle)[1:-1] for needle in needles]
    found = []
    for path in paths:
        text = path.read_bytes() if path.suffix == ".json" else _as_json(path)
        if any(needle in text for needle in encoded):
            found.append(path)
    return found


def log_files(folder: Path) -> list[Path]:
    """The table's Delta log: commits (JSON) and checkpoints (Parquet)."""
    return sorted(p for p in (folder / LOG_FOLDER).iterdir() if p.suffix in (".json", ".parquet"))


def scrub_log(folder: Path, needles: Iterable[str]) -> int:
    """Drop the file statistics naming one of `needles` from the table's log (commits and
    checkpoints); how many log files were rewritten."""
    encoded = [orjson.dumps(needle)[1:-1] for needle in needles]
    rewritten = 0
    for path in files_naming(log_files(folder), needles):
        if path.suffix == ".json":
            _replace(path, _commit_without_statistics(path.read_bytes(), encoded))
        else:
            _replace(path, _parquet_bytes(_checkpoint_without_statistics(path), _codec(path)))
        rewritten += 1
    return rewritten


def _commit_without_statistics(commit: bytes, needles: list[bytes]) -> bytes:
    lines = []
    for line in commit.splitlines():
        if line.strip() and any(needle in line for needle in needles):
            action = orjson.loads(line)
            for kind in _FILE_ACTIONS:
                if isinstance(action.get(kind), dict):
                    action[kind].pop("stats", None)
            line = orjson.dumps(action)
        lines.append(line)
    return b"\n".join(lines) + b"\n"


def _checkpoint_without_statistics(path: Path) -> pa.Table:
    checkpoint = pq.read_table(path)
    for kind in _FILE_ACTIONS:
        if kind not in checkpoint.column_names:
            continue
        actions = checkpoint[kind].combine_chunks()
        if "stats" not in [field.name for field in actions.type]:
            continue
        children = [
            pa.nulls(len(actions), field.type) if field.name == "stats" else actions.field(i)
            for i, field in enumerate(actions.type)
        ]
        rebuilt = pa.StructArray.from_arrays(
            children, fields=list(actions.type), mask=actions.is_null()
        )
        index = checkpoint.column_names.index(kind)
        checkpoint = checkpoint.set_column(index, checkpoint.schema.field(index), rebuilt)
    return checkpoint


def _replace(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.scrubbing")
    temporary.write_bytes(content)
    temporary.replace(path)  # readers see the old file or the new one, never half of it


def _as_json(path: Path) -> bytes:
    return orjson.dumps(pq.read_table(path).to_pylist(), default=str)


def _codec(path: Path) -> str:
    """The file's compression, as `pq.write_table` names it (zstd when it has no data)."""
    metadata = pq.ParquetFile(path).metadata
    if not (metadata.num_row_groups and metadata.row_group(0).num_columns):
        return "zstd"
    codec = str(metadata.row_group(0).column(0).compression).lower()
    return {"uncompressed": "none", "lz4_raw": "lz4"}.get(codec, codec)


def _parquet_bytes(rows: pa.Table, codec: str, level: int | None = None) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression=codec, compression_level=level)
    return buffer.getvalue()
