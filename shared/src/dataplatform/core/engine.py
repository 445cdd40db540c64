"""DuckDB over Delta snapshots.

Each thread gets its own in-memory DuckDB connection (a connection must not be shared between
threads); tables are read as lazy Arrow datasets, so DuckDB pushes filters and projections down
and copies nothing it does not need.
"""

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse, TableName

if TYPE_CHECKING:
    import duckdb


class QueryEngine:
    """Runs DuckDB SQL over the tables of one lakehouse."""

    def __init__(self, lake: Lakehouse) -> None:
        self.lake = lake
        self._local = threading.local()

    def connection(self) -> "duckdb.DuckDBPyConnection":
        """This thread's DuckDB connection, opened on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            import duckdb

            connection = duckdb.connect()
            self._local.connection = connection
        return connection

    def relation(
        self, name: str | TableName, *, version: int | None = None, as_of: datetime | None = None
    ) -> "duckdb.DuckDBPyRelation":
        """A DuckDB relation over one snapshot of a table."""
        return self.connection().from_arrow(self.lake.dataset(name, version=version, as_of=as_of))

    def query(
        self,
        sql: str,
        tables: Mapping[str, str | TableName],
        parameters: list[Any] | None = None,
    ) -> pa.Table:
        """Run `sql` with each alias in `tables` bound to the latest snapshot of that table.

        engine.query("select count(*) as n from events", {"events": "web_user_analytics.bronze.clickstream"})
        """
        connection = self.connection()
        for alias, name in tables.items():
            connection.register(alias, self.lake.dataset(name))
        try:
            return connection.sql(sql, params=parameters).to_arrow_table()
        finally:
            for alias in tables:
                connection.unregister(alias)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
