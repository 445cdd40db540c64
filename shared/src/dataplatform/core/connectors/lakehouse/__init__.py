"""The Delta lakehouse: tables `<product>.<layer>.<table>` under one lake root, and snapshots of them."""

from dataplatform.core.connectors.lakehouse._files import TableFiles, put_file
from dataplatform.core.connectors.lakehouse._history import (
    FilesNaming,
    Purged,
    RowMatcher,
    Scrubbed,
    as_plain_text,
)
from dataplatform.core.connectors.lakehouse._keys import KeyRows, prunes_by_row_group, read_keys
from dataplatform.core.connectors.lakehouse._maintenance import (
    Maintained,
    MaintenancePolicy,
    maintain,
)
from dataplatform.core.connectors.lakehouse._names import LAYERS, TableName, quarantine_of
from dataplatform.core.connectors.lakehouse._snapshots import RestoreResult, Snapshot, Snapshots
from dataplatform.core.connectors.lakehouse._tables import (
    Lakehouse,
    Txn,
    WriteResult,
    partition_narrowing,
)

__all__ = [
    "LAYERS",
    "FilesNaming",
    "KeyRows",
    "Lakehouse",
    "Maintained",
    "MaintenancePolicy",
    "Purged",
    "RestoreResult",
    "RowMatcher",
    "Scrubbed",
    "Snapshot",
    "Snapshots",
    "TableFiles",
    "TableName",
    "Txn",
    "WriteResult",
    "as_plain_text",
    "maintain",
    "partition_narrowing",
    "prunes_by_row_group",
    "put_file",
    "quarantine_of",
    "read_keys",
]
