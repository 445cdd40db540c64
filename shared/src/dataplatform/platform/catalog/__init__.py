"""The data catalog: tables, columns, owners, tags, statistics and lineage of every product."""

from typing import TYPE_CHECKING

from dataplatform.platform.catalog._catalog import DataCatalog, SearchHit, SearchResult
from dataplatform.platform.catalog._declared import (
    PII,
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
)
from dataplatform.platform.catalog._entries import ColumnEntry, TableEntry
from dataplatform.platform.catalog._lineage import Lineage, LineageEdge, LineageNode
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

if TYPE_CHECKING:
    from fastapi import APIRouter


def catalog_router() -> "APIRouter":
    """`/catalog`: tables, search, edits and lineage."""
    # The routes reach the gateway's services, and the gateway holds a catalog: import them
    # only when the gateway is built.
    from dataplatform.platform.catalog._routes import catalog_routes

    return catalog_routes()


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
    "Lineage",
    "LineageEdge",
    "LineageNode",
    "SearchHit",
    "SearchResult",
    "TableChanges",
    "TableEntry",
    "TableStats",
    "UnmaskingRefusedError",
    "catalog_router",
    "declared_tables",
    "effective",
    "quarantine_tables",
    "read_stats",
    "rows_added_since",
    "storage_bytes",
]
