"""Table statistics read from the Delta log alone, never from the data files.

Rows and bytes are the sums over the current version's add actions (their `num_records` and
`size_bytes`); the last update is the latest commit's timestamp; rows added over a period are
summed from the commits' operation metrics.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from dataplatform.core.connectors.lakehouse import Lakehouse

# Which metric of a commit counts the rows it added, by operation; other operations (DELETE,
# OPTIMIZE, RESTORE...) add none. An overwrite's rows count too: it wrote them.
_ADDED_ROWS_METRIC = {"WRITE": "num_added_rows", "MERGE": "num_target_rows_inserted"}
_FIRST_HISTORY_PAGE = 100


@dataclass(frozen=True)
class TableStats:
    version: int
    row_count: int | None  # None when a data file carries no statistics
    size_bytes: int
    file_count: int
    last_modified: datetime


def read_stats(table: DeltaTable) -> TableStats:
    """Statistics of the table's loaded version."""
    files = pa.table(table.get_add_actions(flatten=True))
    rows = _total(files, "num_records")
    (latest,) = table.history(1)
    return TableStats(
        version=table.version(),
        row_count=rows,
        size_bytes=_total(files, "size_bytes") or 0,
        file_count=files.num_rows,
        last_modified=commit_time(latest),
    )


def rows_added_since(table: DeltaTable, since: datetime) -> tuple[int, int]:
    """(rows added, commits) by the commits made at or after `since`, from their metrics."""
    limit = _FIRST_HISTORY_PAGE
    while True:
        commits = table.history(limit)
        recent = [commit for commit in commits if commit_time(commit) >= since]
        # History comes newest first: stop once it reaches back before `since`, or has no more.
        if len(recent) < len(commits) or len(commits) < limit:
            break
        limit *= 4
    added = sum(
        int(commit.get("operationMetrics", {}).get(_ADDED_ROWS_METRIC.get(commit["operation"]), 0))
        for commit in recent
        if commit["operation"] in _ADDED_ROWS_METRIC
    )
    return added, len(recent)


def storage_bytes(lake: Lakehouse, name: str) -> int | None:
    """Bytes of every file under the table's folder: all versions' data, the change feed and the
    log; what vacuum could shrink. None for a lake on object storage (listing it costs money)."""
    if not lake.is_local:
        return None
    folder = Path(lake.uri(name))
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def commit_time(commit: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(commit["timestamp"] / 1000, UTC)


def _total(files: pa.Table, column: str) -> int | None:
    if files.num_rows == 0:
        return 0
    if files[column].null_count:
        return None
    return int(pc.sum(files[column]).as_py())
