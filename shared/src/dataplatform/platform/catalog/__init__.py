"""The data catalog: tables, columns, owners, tags, statistics and lineage of every product."""

from dataplatform.platform.catalog._catalog import (
    PII,
    CatalogColumnRecord,
    CatalogTableRecord,
    DataCatalog,
    DeclaredColumn,
    DeclaredTable,
    declared_tables,
    effective,
)

__all__ = [
    "PII",
    "CatalogColumnRecord",
    "CatalogTableRecord",
    "DataCatalog",
    "DeclaredColumn",
    "DeclaredTable",
    "declared_tables",
    "effective",
]
