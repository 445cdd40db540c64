"""Keeping a table cheap to read as it grows: compact its small files, checkpoint its log, drop
expired log entries and vacuum the files no version kept still needs.

A clustered table (`cluster_by`) is sorted by its first clustering column instead of being
bin-packed, in row groups small enough that a lookup of a few keys reads a few of them
(`_clustering.py`, `_keys.py`).

Every step is safe beside writers. Compaction rewrites files without changing rows
(`dataChange=false`), so change-feed readers see each row once; an append never conflicts with
it, and a compaction that loses a race with a merge or an overwrite is tried again on the new
version and otherwise given up, its unreferenced files left for a later vacuum. The log is
cleaned only up to a checkpoint and never on a table a snapshot pins an older version of (the
snapshot's restore needs that log), and the vacuum keeps every file a version inside the
retention or a snapshot's version reads.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from dataplatform.core.connectors.lakehouse._clustering import is_sorted, sort_by_key
from dataplatform.core.connectors.lakehouse._files import TableFiles
from dataplatform.core.connectors.lakehouse._names import TableName
from dataplatform.core.connectors.lakehouse._tables import Lakehouse
from dataplatform.core.decorators import retry
from dataplatform.core.errors import CommitConflictError

# delta-rs's default when the table sets no `delta.targetFileSize`.
_DEFAULT_TARGET_FILE_BYTES = 100 * 1024 * 1024
_TARGET_FILE_SIZE = "delta.targetFileSize"
# A clustered table's files written since its last sort are sorted among themselves, a run of
# their own beside the partition's others; once they hold this share of its bytes, every
# partition holding one is sorted whole instead (each rewrite of the table then pays for the
# growth since the last one). Bin-packing would mix sorted and unsorted rows.
SORT_AFTER_GROWTH = 0.1
_COMPACTION_ATTEMPTS = 3

Compaction = Literal["not_needed", "bin_pack", "sort", "lost_race"]


@dataclass(frozen=True)
class MaintenancePolicy:
    """How to maintain one table: its clustering columns, when to compact, what to keep."""

    cluster_by: tuple[str, ...] = ()  # its files are sorted by the first
    # Compact once a partition (the whole table, if unpartitioned) holds this many small files.
    min_small_files: int = 8
    # Files a version this recent reads are kept (None: the table's deletedFileRetentionDuration).
    vacuum_retention_hours: int | None = None
    # Versions a snapshot names: their files are kept and the log leading to them too.
    keep_versions: frozenset[int] = frozenset()
    # Table properties the table must hold (bronze's log retention and checkpoint interval).
    properties: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Maintained:
    """What one maintenance of a table did."""

    table: str
    version: int
    files_before: int
    files_after: int
    compaction: Compaction
    files_compacted: int
    log_files_before: int
    log_files_after: int
    log_kept_for_snapshot: bool
    files_vacuumed: int
    properties_set: bool


def maintain(lake: Lakehouse, name: str | TableName, policy: MaintenancePolicy) -> Maintained:
    """Compact, checkpoint, clean the log and vacuum table `name` under `policy`."""
    table_name = str(TableName.parse(name))
    properties_set = _hold_properties(lake, table_name, policy.properties or {})
    files_before = _file_count(lake.table(table_name))
    compaction, compacted = _compact(lake, table_name, policy)
    log = TableFiles(lake.uri(table_name), lake.storage_options)
    log_before = len(log.log_files())
    # Before the checkpoint: a checkpoint leaves out expired tombstones, the files vacuum removes.
    vacuumed = lake.vacuum(
        table_name,
        retention_hours=policy.vacuum_retention_hours,
        keep_versions=policy.keep_versions,
    )
    latest = lake.table(table_name)
    latest.create_checkpoint()
    pinned = any(version < latest.version() for version in policy.keep_versions)
    if not pinned:
        latest.cleanup_metadata()
    return Maintained(
        table=table_name,
        version=latest.version(),
        files_before=files_before,
        files_after=_file_count(latest),
        compaction=compaction,
        files_compacted=compacted,
        log_files_before=log_before,
        log_files_after=len(log.log_files()),
        log_kept_for_snapshot=pinned,
        files_vacuumed=len(vacuumed),
        properties_set=properties_set,
    )


def _hold_properties(lake: Lakehouse, name: str, wanted: Mapping[str, str]) -> bool:
    """Set the `wanted` table properties the table lacks; whether any was set."""
    table = lake.table(name)
    current = table.metadata().configuration
    missing = {key: value for key, value in wanted.items() if current.get(key) != value}
    if missing:
        table.alter.set_table_properties(missing, raise_if_not_exists=False)
    return bool(missing)


def _compact(lake: Lakehouse, name: str, policy: MaintenancePolicy) -> tuple[Compaction, int]:
    """The compaction done, if any, and how many files it rewrote; `lost_race` when writers kept
    changing the files it read."""
    try:
        return _compact_latest(lake, name, policy)
    except CommitConflictError:
        return "lost_race", 0


@retry(attempts=_COMPACTION_ATTEMPTS, initial_seconds=0.1, max_seconds=1.0)
def _compact_latest(
    lake: Lakehouse, name: str, policy: MaintenancePolicy
) -> tuple[Compaction, int]:
    table = lake.table(name)
    files = _add_actions(table)
    target = int(table.metadata().configuration.get(_TARGET_FILE_SIZE, _DEFAULT_TARGET_FILE_BYTES))
    small = [(path, size) for path, size in files if size < target]
    per_partition = Counter(_partition_of(path) for path, _ in small)
    if not per_partition or max(per_partition.values()) < policy.min_small_files:
        return "not_needed", 0
    total_bytes = sum(size for _, size in files) or 1
    try:
        if policy.cluster_by:
            grown = sum(size for path, size in files if not is_sorted(path)) / total_bytes
            # Lookups go by one key at a time: the first clustering column is the sort key.
            replaced = sort_by_key(
                table,
                policy.cluster_by[0],
                lake.storage_options,
                whole=grown >= SORT_AFTER_GROWTH,
            )
            return ("sort", replaced) if replaced else ("not_needed", 0)
        metrics: dict[str, Any] = table.optimize.compact()
        return "bin_pack", int(metrics["numFilesRemoved"])
    except CommitFailedError as exc:
        raise CommitConflictError(f"Compaction of `{name}` lost a race: {exc}") from exc


def _add_actions(table: DeltaTable) -> list[tuple[str, int]]:
    """The live files of the table's version: path and size."""
    actions = pa.table(table.get_add_actions(flatten=True))
    return list(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist(), strict=True))


def _file_count(table: DeltaTable) -> int:
    return len(_add_actions(table))


def _partition_of(path: str) -> str:
    """The partition folder of a data file (`day=2026-01-02`), empty for an unpartitioned table."""
    return path.rpartition("/")[0]
