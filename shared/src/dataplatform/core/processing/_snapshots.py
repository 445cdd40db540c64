"""What a Python model reads beyond its inputs' new rows: tables it opens only where it looks.

A SQL model asks for the rows it needs with `this_touched()` and `ref_touched()`, and the runner
reads only those. A Python model gets the same choice as an object: `this` is a `Snapshot` of
its current output, and an input whose parameter is annotated `Input` comes with a `Snapshot` of
the whole input beside its new rows. `rows_where` reads the rows of some keys (only the Parquet
row groups holding them are read whole, `read_keys`); `read` reads everything, a cost that grows
with the table.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.core.errors import TerminalError, did_you_mean
from dataplatform.core.processing._engines import Relation, rows_of_keys


@dataclass(frozen=True)
class Snapshot:
    """One version of a table, read lazily: only what a model asks for leaves the files."""

    table: str
    relation: Relation

    @property
    def schema(self) -> pa.Schema:
        return self.relation.schema

    def rows_where(
        self, column: str, values: Iterable[object] | pa.Array | pa.ChunkedArray
    ) -> pa.Table:
        """The rows whose `column` is one of `values` (nulls among them match nothing)."""
        if column not in self.schema.names:
            raise TerminalError(
                f"`{self.table}` has no column `{column}` to read rows by."
                f"{did_you_mean(column, self.schema.names)}"
            )
        keys = _as_array(values, self.schema.field(column).type)
        if column in self.relation.partitions:  # whole files per value: the others stay shut
            kept = _as_dataset(self.relation).filter(ds.field(column).isin(keys))
            return kept.to_table()
        return rows_of_keys(self.relation, column, keys)

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """Every row (of `columns`, or all): a cost that grows with the table, so use it only
        where the model's answer depends on every row."""
        if isinstance(self.relation.data, pa.Table):
            return self.relation.data if columns is None else self.relation.data.select(columns)
        return self.relation.data.to_table(columns=columns)


@dataclass(frozen=True)
class Input:
    """An input of a Python model annotated `Input`: what it gained since the model last ran,
    what it lost (deleted rows, and the old version of updated ones), and the whole of it.

    On a full run `new_rows` is every row and `lost_rows` is empty."""

    new_rows: pa.Table
    lost_rows: pa.Table
    snapshot: Snapshot


def _as_array(values: Iterable[object] | pa.Array | pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    # A merge may have written strings as string_view: the keys go in as plain strings.
    plain = pa.string() if pa.types.is_string_view(kind) else kind
    return pa.array(list(values), type=plain)


def _as_dataset(relation: Relation) -> ds.Dataset:
    return relation.data if isinstance(relation.data, ds.Dataset) else ds.dataset(relation.data)
