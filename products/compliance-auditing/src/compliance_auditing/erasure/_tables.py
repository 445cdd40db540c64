"""The erasure's work on one table: find the person in its files, delete their rows, purge the
files that still hold them, and check what is left.

Before the delete, the table's person columns are left out of its file statistics, so the files
the delete writes carry no min/max ids. Deletes name the person only by SHA-256
(`sha256("user_id") IN (X'...')`), because Delta records every delete's predicate in its log,
which must not become a new copy of the id. (Binary literals, not `encode(..., 'hex')`: delta-rs
records that one in a form its conflict checker cannot parse back, so a delete racing a model's
commit failed instead of retrying.) Purging vacuums with no retention (the
files of every older version go, which is the point, so time travel to before the erasure
ends), scrubs the change-data files the vacuum leaves, drops the statistics naming the person
from the log, and writes a checkpoint so log entries past the table's log retention are dropped.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow.compute as pc

from compliance_auditing.catalog import CatalogEntry
from compliance_auditing.erasure._identity import PersonColumns, person_columns, rows_of
from compliance_auditing.erasure._subject import Subject
from dataplatform.core.connectors.lakehouse import Lakehouse, Purged, as_plain_text


@dataclass(frozen=True)
class Holding:
    """A table that holds the person: rows now, or files (older versions, change data)."""

    columns: PersonColumns
    rows: int
    files: int

    @property
    def table(self) -> str:
        return self.columns.table


@dataclass(frozen=True)
class Traces:
    """What still names the person: rows now, data or change-data files, and log files (the
    log keeps the min/max statistics of files written before the erasure)."""

    rows: int
    files: int
    log_files: int


def find_holdings(
    lake: Lakehouse, subject: Subject, catalog: Mapping[str, CatalogEntry] | None
) -> list[Holding]:
    """Every table whose rows or files hold one of the subject's ids."""
    found = []
    for name in lake.tables():
        table = str(name)
        entry = (catalog or {}).get(table)
        columns = person_columns(table, lake.schema(table), entry.pii_columns if entry else ())
        if columns is None:
            continue
        files = len(lake.files_holding(table, rows_of(subject.ids, columns), columns.all))
        rows = current_rows(lake, columns, subject)
        if rows or files:
            found.append(Holding(columns, rows, files))
    return found


def current_rows(lake: Lakehouse, columns: PersonColumns, subject: Subject) -> int:
    """How many rows of the table's latest version hold the subject."""
    rows = as_plain_text(lake.read(columns.table, columns=list(columns.all)))
    if rows.num_rows == 0:
        return 0
    return int(pc.sum(rows_of(subject.ids, columns)(rows)).as_py() or 0)


def delete_rows(lake: Lakehouse, columns: PersonColumns, subject: Subject) -> tuple[int, int]:
    """Delete the subject's rows; (rows removed, the table's version after)."""
    lake.keep_out_of_statistics(columns.table)  # the files the delete writes
    conditions = [f'sha256("{column}") IN ({_hashes(subject.ids)})' for column in columns.identity]
    if columns.json:
        rows = as_plain_text(lake.read(columns.table, columns=list(columns.json)))
        picked = rows.filter(rows_of(subject.ids, columns)(rows)) if rows.num_rows else rows
        for column in columns.json:
            values = [v for v in picked[column].to_pylist() if v is not None]
            if values:
                conditions.append(f'sha256("{column}") IN ({_hashes(values)})')
    if not conditions:
        return 0, lake.version(columns.table)
    result = lake.delete(columns.table, " OR ".join(conditions))
    return result.rows, lake.version(columns.table)


def purge_files(lake: Lakehouse, columns: PersonColumns, subject: Subject) -> Purged:
    """Remove every file no longer in the table's latest version, and scrub its change data."""
    return lake.purge_history(columns.table, rows_of(subject.ids, columns), naming=subject.ids)


def traces(lake: Lakehouse, columns: PersonColumns, subject: Subject) -> Traces:
    naming = lake.files_naming(columns.table, subject.ids)
    return Traces(current_rows(lake, columns, subject), len(naming.data), len(naming.log))


def _hashes(values: list[str] | tuple[str, ...]) -> str:
    digests = sorted({hashlib.sha256(value.encode()).hexdigest() for value in values})
    return ", ".join(f"X'{digest}'" for digest in digests)
