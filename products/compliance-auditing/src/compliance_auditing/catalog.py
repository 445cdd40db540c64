"""What the platform's published catalog (`platform.gold.catalog`) says about each table: its
retention in days and its PII columns, stewards' overrides included."""

from dataclasses import dataclass

from dataplatform.core.connectors.lakehouse import Lakehouse

CATALOG = "platform.gold.catalog"


@dataclass(frozen=True)
class CatalogEntry:
    table: str
    retention_days: int | None
    pii_columns: frozenset[str]


def read_catalog(lake: Lakehouse) -> dict[str, CatalogEntry] | None:
    """Every catalogued table by name; None while the platform has not published its catalog."""
    if not lake.exists(CATALOG):
        return None
    rows = lake.read(CATALOG, columns=["table_name", "retention_days", "pii_columns"])
    return {
        row["table_name"]: CatalogEntry(
            row["table_name"], row["retention_days"], frozenset(row["pii_columns"] or ())
        )
        for row in rows.to_pylist()
    }
