"""The object store under a lake root: the options delta-rs opens it with, and the tables in it.

A Delta commit creates the log file of the next version, and must fail if another writer created
that file first; otherwise two writers both "commit" version N and one of them is lost. On S3,
delta-rs (1.x, which dropped the DynamoDB locking provider) asks for that with a conditional
PUT, `If-None-Match: *`, which AWS S3 and the S3-compatible servers that support conditional
writes refuse with 412 when the key exists. Every `s3://` lake therefore opens its store with
the conditional put on (`AWS_CONDITIONAL_PUT=etag`), whatever the environment says; a lake told
to turn it off is refused, since its commits would fail.
"""

from collections.abc import Mapping
from pathlib import Path

from deltalake._internal import DeltaFileSystemHandler
from pyarrow.fs import FileType

from dataplatform.core.connectors.lakehouse._files import LOG_FOLDER
from dataplatform.core.errors import ConfigError

_S3_SCHEMES = ("s3://", "s3a://")
# Set in upper case: delta-rs reads the environment variable of that name only for options not
# given, so the lake's value wins over the environment's.
_CONDITIONAL_PUT = "AWS_CONDITIONAL_PUT"
_CONDITIONAL_PUT_SPELLINGS = {"aws_conditional_put", "conditional_put"}  # compared lower-cased
_TABLE_DEPTH = 3  # <product>/<layer>/<table>


def store_options(root: str, options: Mapping[str, str] | None) -> dict[str, str] | None:
    """The storage options delta-rs opens `root` with: `options`, plus on S3 the conditional
    put that keeps concurrent commits from overwriting each other."""
    given = dict(options or {})
    if not root.startswith(_S3_SCHEMES):
        return given or None
    named = {k: v for k, v in given.items() if k.lower() in _CONDITIONAL_PUT_SPELLINGS}
    disabled = [key for key, value in named.items() if value.strip().lower() == "disabled"]
    if disabled:
        raise ConfigError(
            f"Storage option `{disabled[0]}` turns S3's conditional put off for lake `{root}`, "
            "but every Delta commit on S3 is a conditional put (`If-None-Match: *`): drop the "
            "option (the lake sets it to `etag`), and keep the lake on a store that honours "
            "conditional writes."
        )
    if not named:
        given[_CONDITIONAL_PUT] = "etag"
    return given


def table_folders(root: str, options: dict[str, str] | None, *, local: bool) -> list[str]:
    """`<product>/<layer>/<table>` of every folder three levels under `root` holding a Delta
    log: globbed on a local disk, listed level by level (one request a folder, never the data
    files) on an object store."""
    if local:
        found = Path(root).glob(f"*/*/*/{LOG_FOLDER}")
        return sorted(str(log.parent.relative_to(root)) for log in found if log.is_dir())
    store = DeltaFileSystemHandler(root, options=options)
    folders = [""]
    for _ in range(_TABLE_DEPTH):
        folders = [
            info.path
            for folder in folders
            for info in store.get_file_info_selector(folder, True, False)
            if info.type == FileType.Directory
        ]
    logs = store.get_file_info([f"{folder}/{LOG_FOLDER}" for folder in folders])
    return sorted(
        folder for folder, log in zip(folders, logs, strict=True) if log.type == FileType.Directory
    )
