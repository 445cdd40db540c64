"""The guard every commit to the lake passes: rows of erased people are kept out, whoever
writes them (a model, a Python model, a job, a retraining, the collector) and whenever the
writer read them, before or after the erasure.

A row is an erased person's when one of its person columns holds a value
whose hash is on the suppression list. The list is asked at every commit, about the values the
commit brings only, so an erasure holds from the moment it lists the person and a commit costs
in proportion to its own rows. The same declarations keep person columns out of the Delta file
statistics, where min/max values would otherwise copy ids into the log.

The guard knows the person columns it is handed where the lake is opened: the platform hands it
every installed product's declarations (`dataplatform.core.product.declared_person_columns`), a
model runner those of its models, so governance never reads the product declarations itself.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.governance._suppression import SuppressionList, id_hash

logger = logging.getLogger(__name__)

# Longer values are JSON payloads (`raw`, `context`), never an id: not worth hashing.
MAX_ID_LENGTH = 1024
_TEXT = (pa.string(), pa.large_string(), pa.string_view())


class PersonGuard:
    """Keeps erased people out of the tables that declare person columns."""

    def __init__(
        self,
        suppression: SuppressionList,
        person_columns: Mapping[str, frozenset[str]],
    ) -> None:
        self.suppression = suppression
        self._person_columns = dict(person_columns)

    def declare(self, person_columns: Mapping[str, frozenset[str]]) -> None:
        """Also guard `person_columns` (`{table: columns}`), as another writer of the lake knows
        them; a table's columns add up."""
        for table, columns in person_columns.items():
            self._person_columns[table] = self.person_columns(table) | columns

    def person_columns(self, table: str) -> frozenset[str]:
        """The columns of `table` declared to hold a person."""
        return self._person_columns.get(table, frozenset())

    def unindexed_columns(self, table: str) -> frozenset[str]:
        """Columns kept out of the table's file statistics: its person columns."""
        return self.person_columns(table)

    def erased(self, table: str) -> tuple[frozenset[str], frozenset[str]]:
        """`table`'s person columns and the hashes of erased ids (none asked for without
        person columns)."""
        columns = self.person_columns(table)
        return columns, self.suppression.listed() if columns else frozenset()

    def suppress(self, ids: Iterable[str], request_id: str, now: datetime | None = None) -> int:
        """List `ids` as erased (by hash); how many were new to the list."""
        return self.suppression.add(ids, request_id, now)

    def admit(self, table: str, rows: pa.Table) -> pa.Table:
        """`rows` without those of erased people."""
        columns = [
            name
            for name in sorted(self.person_columns(table))
            if name in rows.column_names and rows.schema.field(name).type in _TEXT
        ]
        if not columns or rows.num_rows == 0:
            return rows
        listed = self.suppression.listed()  # one look at the list per commit
        if not listed:  # nobody erased: nothing to hash
            return rows
        values = {value: id_hash(value) for value in _short_values(rows, columns)}
        erased = pa.array(sorted(v for v, digest in values.items() if digest in listed))
        if len(erased) == 0:
            return rows
        mask = pa.array([False] * rows.num_rows)
        for name in columns:
            hit = pc.is_in(rows[name].cast(pa.string()), value_set=erased)
            mask = pc.or_(mask, pc.fill_null(hit, False))
        kept = rows.filter(pc.invert(mask))
        logger.info(
            "kept rows of erased people out of a commit",
            extra={"table": table, "rows": rows.num_rows - kept.num_rows},
        )
        return kept


def _short_values(rows: pa.Table, columns: list[str]) -> set[str]:
    found: set[str] = set()
    for name in columns:
        distinct = pc.unique(rows[name].cast(pa.string()))
        short = distinct.filter(pc.less_equal(pc.utf8_length(distinct), MAX_ID_LENGTH))
        found.update(value for value in short.to_pylist() if value is not None)
    return found


def protect(
    lake: Lakehouse, store: MetadataStore, person_columns: Mapping[str, frozenset[str]]
) -> PersonGuard:
    """The lake's guard, installed from `store`'s suppression list when it has none yet, and
    told the `person_columns` (`{table: columns}`) its opener writes."""
    if lake.guard is None:
        lake.guard = PersonGuard(SuppressionList(store), person_columns)
    guard = guard_of(lake)
    guard.declare(person_columns)
    return guard


def guard_of(lake: Lakehouse) -> PersonGuard:
    """The suppression guard of `lake`; refuses a lake opened without one."""
    if not isinstance(lake.guard, PersonGuard):
        raise TerminalError(
            "This lake was opened without the suppression list, so an erasure could not keep "
            "the person from being written back; open it through the platform (the gateway, "
            "`dataplatform serve`), or install one with `dataplatform.core.governance.protect`."
        )
    return lake.guard
