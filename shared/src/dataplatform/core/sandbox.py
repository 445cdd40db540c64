"""A DuckDB database of its own for SQL that callers write: capped in memory, cut off in time,
and unable to reach anything but the lake's files.

The product APIs run their own, known SQL on the process's shared database; SQL a person sends
(`POST /query`) runs here instead, so a heavy query fails alone instead of starving them. The
query is checked before it gets here (one SELECT over catalogued tables); this database is the
second wall: external access is off, files outside the lake cannot be opened, extensions
cannot be installed, and the configuration is locked so no statement can lift any of it.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from dataplatform.core.errors import InvalidRequestError

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")


class QuerySandbox:
    """Runs work on a cursor of the sandboxed database, interrupting it past `timeout_seconds`."""

    def __init__(
        self, lake_root: str, *, memory_limit_mb: int, threads: int, timeout_seconds: float
    ) -> None:
        self.lake_root = lake_root
        self.memory_limit_mb = memory_limit_mb
        self.threads = threads
        self.timeout_seconds = timeout_seconds
        self._database: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def run(self, work: "Callable[[duckdb.DuckDBPyConnection], T]", field: str) -> T:
        """`work` on a fresh cursor; a 422 naming `field` when it runs out of time or memory."""
        import duckdb

        cursor = self._open().cursor()
        timer = threading.Timer(self.timeout_seconds, cursor.interrupt)
        timer.start()
        try:
            return work(cursor)
        except duckdb.InterruptException:
            raise InvalidRequestError(
                f"The query ran past its {self.timeout_seconds:g} s and was cancelled; read "
                "fewer rows (a narrower `where` on a partition or time column) or aggregate "
                "sooner.",
                field=field,
            ) from None
        except duckdb.OutOfMemoryException:
            raise InvalidRequestError(
                f"The query needs more than the {self.memory_limit_mb} MB SQL queries may use "
                "together; aggregate sooner, select fewer columns, or try when fewer queries run.",
                field=field,
            ) from None
        except duckdb.Error as error:  # the caller's SQL: a column or type it got wrong
            raise InvalidRequestError(
                f"DuckDB could not run the query: {error}", field=field
            ) from None
        finally:
            timer.cancel()
            cursor.close()

    def _open(self) -> "duckdb.DuckDBPyConnection":
        with self._lock:
            if self._database is None:
                self._database = _locked_database(
                    self.lake_root, self.memory_limit_mb, self.threads
                )
            return self._database


def _locked_database(
    lake_root: str, memory_limit_mb: int, threads: int
) -> "duckdb.DuckDBPyConnection":
    import duckdb

    database = duckdb.connect(config={"memory_limit": f"{memory_limit_mb}MB", "threads": threads})
    # UTC, the zone of every stored time, for every cursor: they cannot set it once locked.
    database.execute("set global TimeZone = 'UTC'")
    if "://" not in lake_root:  # an object store's files come through Arrow, not DuckDB's reader
        from pathlib import Path

        # As written and with links resolved: a snapshot names its files under one of them.
        folders = {
            str(path).rstrip("/") + "/"
            for path in (Path(lake_root).absolute(), Path(lake_root).resolve())
        }
        database.execute("set allowed_directories = $folders", {"folders": sorted(folders)})
    database.execute("set enable_external_access = false")
    database.execute("set lock_configuration = true")
    return database
