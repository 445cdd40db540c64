"""The data catalog: tables, columns, owners, tags, statistics and lineage of every product."""

from dataplatform.core.declarations import PII
from dataplatform.platform.catalog._catalog import DataCatalog, SearchHit, SearchResult
from dataplatform.platform.catalog._declared import (
    PLATFORM_OWNER,
    PLATFORM_TABLES,
    DeclaredColumn,
    DeclaredTable,
    declared_tables,
    quarantine_tables,
)
from dataplatform.platform.catalog._edits import (
    ColumnChanges,
    TableChanges,
    UnmaskingRefusedError,
    unmasked_columns,
)
from dataplatform.platform.catalog._entries import ColumnEntry, TableEntry
from dataplatform.platform.catalog._lineage import Direction, Lineage, LineageEdge, LineageNode
from dataplatform.platform.catalog._records import (
    CatalogColumnRecord,
    CatalogTableRecord,
    effective,
)
from dataplatform.platform.catalog._stats import (
    TableStats,
    read_stats,
    rows_added_since,
    storage_bytes,
)

__all__ = [
    "PII",
    "PLATFORM_OWNER",
    "PLATFORM_TABLES",
    "CatalogColumnRecord",
    "CatalogTableRecord",
    "ColumnChanges",
    "ColumnEntry",
    "DataCatalog",
    "DeclaredColumn",
    "DeclaredTable",
    "Direction",
    "Lineage",
    "LineageEdge",
    "LineageNode",
    "SearchHit",
    "SearchResult",
    "TableChanges",
    "TableEntry",
    "TableStats",
    "UnmaskingRefusedError",
    "declared_tables",
    "effective",
    "quarantine_tables",
    "read_stats",
    "rows_added_since",
    "storage_bytes",
    "unmasked_columns",
]
