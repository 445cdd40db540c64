"""What a product declares about its tables: `Table`, its `Column`s and the `pii` tag.

Plain data below every layer that reads it (the product context, governance, processing), so
none of them needs the `Product` declaration to know what a table is.
"""

from dataclasses import dataclass

import pyarrow as pa

PII = "pii"


@dataclass(frozen=True)
class Column:
    """A column of a table, as the header of the model writing it describes it."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    type: str | None = None  # DuckDB type, when the header gives one


@dataclass(frozen=True)
class Table:
    """A table the product owns, named `<layer>.<table>` within the product.

    A table a model writes is described by the model's header (`tables_of`); `storage/` declares
    only the others (bronze, and tables written by the API or a job), with their `pii` columns.
    """

    name: str
    description: str
    schema: pa.Schema | None = None
    partition_by: tuple[str, ...] = ()
    cluster_by: tuple[str, ...] = ()  # the lake's maintenance sorts files by the first
    pii: tuple[str, ...] = ()
    retention_days: int | None = None
    columns: tuple[Column, ...] = ()
    owner: str | None = None  # the model header's owner, when it is not the product's
