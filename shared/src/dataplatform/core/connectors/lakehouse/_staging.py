"""Rows staged as Parquet files under the lake root, for an engine of other processes to read.

Spark given Arrow rows by its driver (`createDataFrame`) holds them whole in the driver's heap
(a run's change feed of half a million events is beyond a 2 GB driver); given files, its
executors read them in splits, wherever they run, from the same store as the lake. Staged files
live in `<root>/_staging/<created>-<id>/`, outside any table, and are deleted when the run is
done. A run killed before that leaves its folder behind, with the rows of people who may since
have been erased: the next staging deletes every folder older than `STALE_AFTER`.
"""

import contextlib
import re
import time
import uuid
from collections.abc import Iterator, Mapping

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake.fs import DeltaStorageHandler

STAGING_FOLDER = "_staging"
STALE_AFTER = 24 * 3600  # seconds: no model run lasts this long
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


@contextlib.contextmanager
def staged_files(
    root: str, options: Mapping[str, str] | None, rows: Mapping[str, pa.Table]
) -> Iterator[dict[str, str]]:
    """Each of `rows` written as one Parquet file under `root`: name -> URI, while in use."""
    for name in rows:
        if not _PLAIN_NAME.fullmatch(name):
            raise ValueError(
                f"staged rows `{name}`: a name of letters, digits and underscores only, since "
                "it names a file"
            )
    filesystem, base = _filesystem(root, options)
    _delete_stale(filesystem, base)
    folder = f"{int(time.time())}-{uuid.uuid4().hex}"
    path = f"{base}{STAGING_FOLDER}/{folder}"
    filesystem.create_dir(path, recursive=True)
    try:
        uris = {}
        for name, table in rows.items():
            pq.write_table(table, f"{path}/{name}.parquet", filesystem=filesystem)
            uris[name] = f"{root}/{STAGING_FOLDER}/{folder}/{name}.parquet"
        yield uris
    finally:
        filesystem.delete_dir(path)


def _filesystem(root: str, options: Mapping[str, str] | None) -> tuple[pafs.FileSystem, str]:
    """The store under `root` and the prefix of paths in it."""
    if "://" not in root:
        return pafs.LocalFileSystem(), f"{root}/"
    return pafs.PyFileSystem(DeltaStorageHandler(root, dict(options or {}))), ""


def _delete_stale(filesystem: pafs.FileSystem, base: str) -> None:
    selector = pafs.FileSelector(f"{base}{STAGING_FOLDER}", allow_not_found=True)
    oldest = time.time() - STALE_AFTER
    for info in filesystem.get_file_info(selector):
        created = info.base_name.split("-", 1)[0]
        if info.type == pafs.FileType.Directory and created.isdigit() and int(created) < oldest:
            filesystem.delete_dir(info.path)
