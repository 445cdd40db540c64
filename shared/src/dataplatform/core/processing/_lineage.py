"""Column-level lineage of SQL models, parsed with SQLGlot through CTEs, joins and aliases."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._models import (
    REF_PATTERN,
    REF_SINCE_PATTERN,
    SOURCE_PATTERN,
    THIS_PATTERN,
    THIS_SINCE_PATTERN,
    SqlModel,
)

if TYPE_CHECKING:
    from sqlglot import exp

ROWS = "*"  # the source "column" of a value computed from rows, not columns: count(*)


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
) -> str:
    """The model's SQL with each input macro replaced by `table_sql(<qualified name>)`.

    ref_since() and this_since() become `since_sql(<qualified name>)` when it is given.
    """
    since = since_sql or table_sql
    own = f"{product}.{model.name}"
    body = REF_SINCE_PATTERN.sub(lambda m: since(f"{product}.{m.group('name')}"), model.sql)
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
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import OptimizeError, ParseError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify

    target = f"{product}.{model.name}"
    nested: dict[str, object] = {}
    for table, columns in schemas.items():
        catalog, layer, name = table.split(".")
        layers = nested.setdefault(catalog, {})
        layers.setdefault(layer, {})[name] = dict(columns)  # type: ignore[attr-defined]
    try:
        expression = qualify(
            sqlglot.parse_one(render(model, product, quoted), dialect="duckdb"),
            schema=nested,
            dialect="duckdb",
        )
    except (ParseError, OptimizeError) as exc:
        raise ModelDefinitionError(model.path, model.body_line, f"lineage: {exc}") from None
    edges: set[ColumnEdge] = set()
    if not isinstance(expression, exp.Query):
        raise ModelDefinitionError(model.path, model.body_line, "the model body must be a query.")
    for column in expression.named_selects:
        root = lineage(column, expression, schema=nested, dialect="duckdb")
        for node in root.walk():
            if node.downstream:
                continue
            if isinstance(node.expression, exp.Table):
                source = _table_name(node.expression)
                if source == target:
                    continue  # this(): the model's previous output, not an input
                edges.add(ColumnEdge(source, node.name.split(".")[-1].strip('"'), target, column))
            else:  # an aggregate over rows, like count(*): it depends on its tables' rows
                for read in node.source.find_all(exp.Table):
                    if _table_name(read) != target:
                        edges.add(ColumnEdge(_table_name(read), ROWS, target, column))
    return sorted(edges)


def _table_name(table: "exp.Table") -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)
