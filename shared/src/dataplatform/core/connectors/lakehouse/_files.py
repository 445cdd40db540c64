"""The files of one Delta table, read and replaced through delta-rs's object store.

The store is the one the table's own reads and writes use, built from the same URI and storage
options, so the same code works on a local folder and on `s3://`. A file is replaced whole: the
store stages the new content and swaps it in at the end (a rename on a local disk, the upload's
completion on an object store), so a reader sees the old file or the new one, never half of one.
A write killed part way leaves the file as it was (on a local disk, content past the first upload
part may stay staged beside it as `<file>#<n>`, which the store neither lists nor reads).
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake._internal import DeltaFileSystemHandler
from pyarrow.fs import FileType

LOG_FOLDER = "_delta_log"
CHANGE_DATA_FOLDER = "_change_data"


class TableFiles:
    """List, read and replace the files under one table's URI."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None) -> None:
        # The public `deltalake.fs.DeltaStorageHandler` wraps this store for pyarrow, but its
        # output streams refuse the buffers pyarrow writes (deltalake 1.6); whole-file bytes
        # go straight to the store instead.
        self._store = DeltaFileSystemHandler(uri, options=storage_options)
        self.uri = uri

    def listing(self, folder: str = "") -> dict[str, int]:
        """Every file under `folder` (the whole table by default), path to size, sorted by path."""
        infos = self._store.get_file_info_selector(folder, True, True)
        return {
            info.path: int(info.size or 0)
            for info in sorted(infos, key=lambda info: info.path)
            if info.type == FileType.File
        }

    def data_files(self) -> list[str]:
        """Parquet files outside the log: data files of any version, and change-data files."""
        return [
            path
            for path in self.listing()
            if path.endswith(".parquet") and not path.startswith(f"{LOG_FOLDER}/")
        ]

    def change_data_files(self) -> list[str]:
        return [path for path in self.listing(CHANGE_DATA_FOLDER) if path.endswith(".parquet")]

    def log_files(self) -> list[str]:
        """The log's commits (JSON) and checkpoints (Parquet)."""
        return [path for path in self.listing(LOG_FOLDER) if path.endswith((".json", ".parquet"))]

    def read_bytes(self, path: str) -> bytes:
        with pa.PythonFile(self._store.open_input_file(path), mode="r") as source:
            return bytes(source.read())

    def parquet(self, path: str, columns: list[str] | None = None) -> pa.Table:
        """A Parquet file's rows; only those of `columns` it has, when given."""
        source = pa.PythonFile(self._store.open_input_file(path), mode="r")
        with pq.ParquetFile(source) as parquet:
            if columns is not None:
                present = set(parquet.schema_arrow.names)
                columns = [column for column in columns if column in present]
            return parquet.read(columns=columns)

    def compression(self, path: str) -> str:
        """The Parquet file's codec as `pq.write_table` names it (zstd when it has no data)."""
        source = pa.PythonFile(self._store.open_input_file(path), mode="r")
        with pq.ParquetFile(source) as parquet:
            metadata = parquet.metadata
        if not (metadata.num_row_groups and metadata.row_group(0).num_columns):
            return "zstd"
        codec = str(metadata.row_group(0).column(0).compression).lower()
        return {"uncompressed": "none", "lz4_raw": "lz4"}.get(codec, codec)

    def replace(self, path: str, content: bytes) -> None:
        """Write `content` as the file at `path`, swapped in whole once written."""
        stream = self._store.open_output_stream(path, None)
        stream.write(content)
        stream.close()  # type: ignore[attr-defined]  # there, but missing from deltalake's stub


def put_file(root: str, storage_options: dict[str, str] | None, path: str, content: bytes) -> str:
    """Write `content` as the file at `path` under `root` (a local folder or an `s3://` URI),
    whole or not at all, through the same store as the lake's; its full location."""
    if "://" not in root:  # the local store opens only a folder that exists
        Path(root).mkdir(parents=True, exist_ok=True)
    TableFiles(root, storage_options).replace(path, content)
    return f"{root.rstrip('/')}/{path}"
