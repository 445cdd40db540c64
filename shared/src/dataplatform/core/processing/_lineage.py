"""Column-level lineage of SQL models: the query lineage of their rendered SQL
(`dataplatform.core.query_lineage`), as edges between tables' columns."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._models import (
    DELETE_FLAG,
    REF_PATTERN,
    REF_SINCE_PATTERN,
    REF_TOUCHED_PATTERN,
    SOURCE_PATTERN,
    THIS_PATTERN,
    THIS_SINCE_PATTERN,
    THIS_TOUCHED_PATTERN,
    SqlModel,
)
from dataplatform.core.query_lineage import (
    ROWS,
    QueryLineageError,
    output_columns,
    qualified,
)

__all__ = ["ROWS", "ColumnEdge", "column_lineage", "quoted", "render"]


@dataclass(frozen=True, order=True)
class ColumnEdge:
    """`target_table.target_column` is computed from `source_table.source_column`."""

    source_table: str
    source_column: str
    target_table: str
    target_column: str


def render(
    model: SqlModel,
    product: str,
    table_sql: Callable[[str], str],
    since_sql: Callable[[str], str] | None = None,
    touched_sql: Callable[[str, str], str] | None = None,
) -> str:
    """The model's SQL with each input macro replaced by `table_sql(<qualified name>)`.

    ref_since() and this_since() become `since_sql(<qualified name>)` when it is given, and
    ref_touched() and this_touched() `touched_sql(<qualified name>, <key column>)`.
    """
    since = since_sql or table_sql
    touched = touched_sql or (lambda table, _key: table_sql(table))
    own = f"{product}.{model.name}"
    body = REF_TOUCHED_PATTERN.sub(
        lambda m: touched(f"{product}.{m.group('name')}", m.group("key")), model.sql
    )
    body = THIS_TOUCHED_PATTERN.sub(lambda m: touched(own, m.group("key")), body)
    body = REF_SINCE_PATTERN.sub(lambda m: since(f"{product}.{m.group('name')}"), body)
    body = THIS_SINCE_PATTERN.sub(lambda _: since(own), body)
    body = REF_PATTERN.sub(lambda m: table_sql(f"{product}.{m.group('name')}"), body)
    body = THIS_PATTERN.sub(lambda _: table_sql(own), body)
    return SOURCE_PATTERN.sub(
        lambda m: table_sql(f"{m.group('product').replace('-', '_')}.{m.group('name')}"), body
    )


def quoted(qualified: str) -> str:
    return ".".join(f'"{part}"' for part in qualified.split("."))


def column_lineage(
    model: SqlModel, product: str, schemas: Mapping[str, Mapping[str, str]]
) -> list[ColumnEdge]:
    """Edges from input columns to each output column of `model`.

    `schemas` maps each input table (`<product>.<layer>.<table>`) to its columns and types; it
    lets `select *` be expanded and unqualified columns be placed.
    """
    target = f"{product}.{model.name}"
    try:
        query = qualified(render(model, product, quoted), schemas)
    except QueryLineageError as exc:
        raise ModelDefinitionError(model.path, model.body_line, f"lineage: {exc}") from None
    return sorted(
        {
            ColumnEdge(source.table, source.column, target, output.name)
            for output in output_columns(query, schemas)
            if output.name != DELETE_FLAG  # the runner's instruction, not a column of the table
            for source in output.sources
            if source.table != target  # this(): the model's previous output, not an input
        }
    )
