"""Column lineage of one SQL query, traced with SQLGlot: for each output column, the table columns
it is computed from, through aliases, expressions, CTEs, subqueries, joins, `*`, window functions
and aggregates.

Two readers: the lineage of models the catalog shows (`processing.column_lineage`), and the PII
masking and read audit of served answers (`serving.gold_rows`, `access.serve_rows`), which must
fail closed. So each output column also says why its sources may be incomplete (`unknown`): a
construct SQLGlot cannot see through (`to_json(t)`, `columns(...)`, `#1`), a column no table of
the query has, a read of something that is not one of the query's tables. Such a column is
masked, never served whole.

For masking, counts reveal no value (`counting_reveals=False`): `count(distinct user_id)` is a
number whatever it counted, so it is traced to the rows it counted, not to `user_id`. Every
other aggregate (`min`, `max`, `list`, `string_agg`, `any_value`...) can hand a value on, and
is traced through; so is a window function, to its `partition by` and `order by` columns too.
"""

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from dataplatform.core.errors import TerminalError

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.lineage import Node

logger = logging.getLogger(__name__)

ROWS = "*"  # the source "column" of a value computed from rows, not columns: count(*)
DIALECT = "duckdb"

# Columns of each table a query may read: table name (dotted for qualified names) -> column -> type.
TableSchemas = Mapping[str, Mapping[str, str]]


class QueryLineageError(TerminalError):
    """SQLGlot cannot parse or resolve the query, so no column's lineage is known."""

    code = "query_lineage"


@dataclass(frozen=True, order=True)
class SourceColumn:
    """`column` of `table` (`ROWS` when a value is computed from the table's rows only)."""

    table: str
    column: str


@dataclass(frozen=True)
class OutputColumn:
    """One output column of a query: what it is computed from, and, when that may be
    incomplete, why (`unknown`)."""

    name: str
    sources: frozenset[SourceColumn]
    unknown: str | None = None


@dataclass(frozen=True)
class AnswerLineage:
    """Where the columns of one served answer come from (by output name) and every table it read.

    Built by `answer_lineage` for a query, or `whole_table` for a table served as it is.
    """

    columns: Mapping[str, OutputColumn]
    tables: tuple[str, ...]

    @classmethod
    def whole_table(cls, table: str, columns: Iterable[str]) -> "AnswerLineage":
        """Each column of `table`, served under its own name."""
        return cls(
            {c: OutputColumn(c, frozenset({SourceColumn(table, c)})) for c in columns}, (table,)
        )

    def revealing(self, pii: Mapping[str, frozenset[str]]) -> frozenset[str]:
        """Output columns that may carry a value of a `pii` column (table -> its PII columns):
        those computed from one, and those whose lineage is unknown (fail closed)."""
        return frozenset(
            name for name, output in self.columns.items() if output.unknown or _carries(output, pii)
        )

    def hidden(self, pii: Mapping[str, frozenset[str]], answered: Iterable[str]) -> frozenset[str]:
        """The columns of an answer (`answered`) to mask for a reader without `pii:read`: those
        `revealing` names, and any the lineage does not name (it was traced for other ones)."""
        return self.revealing(pii) | (frozenset(answered) - self.columns.keys())

    def tables_behind(self) -> set[str]:
        """Every table the answer read or took a column from: whose PII tags decide the mask."""
        return set(self.tables) | {s.table for c in self.columns.values() for s in c.sources}

    def columns_of(self, table: str) -> tuple[str, ...]:
        """The columns of `table` whose values reach the answer, in the answer's order; an
        output column of unknown lineage is named (by its output name) under every table."""
        found: dict[str, None] = {}
        for name, output in self.columns.items():
            if output.unknown:
                found[name] = None
            for source in sorted(output.sources):
                if source.table == table and source.column != ROWS:
                    found[source.column] = None
        return tuple(found)

    def carries_pii_of(self, table: str, pii: frozenset[str]) -> bool:
        """Whether a `pii` column of `table` (or a column of unknown lineage) reaches the answer."""
        return bool(pii) and any(
            output.unknown or _carries(output, {table: pii}) for output in self.columns.values()
        )


def _carries(output: OutputColumn, pii: Mapping[str, frozenset[str]]) -> bool:
    return any(source.column in pii.get(source.table, ()) for source in output.sources)


def answer_lineage(
    sql: str,
    tables: Mapping[str, str],
    columns: Mapping[str, Sequence[str]],
    output_names: Sequence[str],
) -> AnswerLineage:
    """The lineage of the answer to `sql`, traced once per query text and table columns.

    `tables` maps each name the query uses to the table's full name, `columns` each such name
    to the table's columns, and `output_names` are the answer's columns, in order. Counts are
    not traced to what they counted (see the module's docstring).
    """
    return _answer_lineage(
        sql,
        tuple(tables.items()),
        tuple((name, tuple(names)) for name, names in columns.items()),
        tuple(output_names),
    )


# Serving queries are fixed strings over tables whose columns rarely change: a hit costs a hash.
@lru_cache(maxsize=1024)
def _answer_lineage(
    sql: str,
    tables: tuple[tuple[str, str], ...],
    columns: tuple[tuple[str, tuple[str, ...]], ...],
    output_names: tuple[str, ...],
) -> AnswerLineage:
    full_names = dict(tables)
    traced, read = _traced(sql, full_names, dict(columns), output_names)
    merged: dict[str, OutputColumn] = {}
    for name, output in zip(output_names, traced, strict=True):
        merged[name] = _merged(merged.get(name), _bound(output, full_names))
    lineage = AnswerLineage(merged, read)
    _log_unknown(sql, lineage)
    return lineage


def _traced(
    sql: str,
    full_names: Mapping[str, str],
    columns: Mapping[str, Sequence[str]],
    output_names: Sequence[str],
) -> tuple[list[OutputColumn], tuple[str, ...]]:
    """Each answer column's lineage, by position, and the tables read. When SQLGlot cannot
    trace the query, or reads it as wider or narrower than the answer, no column is known and
    every table counts as read."""
    schemas = {name: dict.fromkeys(names, "unknown") for name, names in columns.items()}
    try:
        query = qualified(sql, schemas, strict=False)
        traced = output_columns(query, schemas, counting_reveals=False)
        read = tuple(sorted(full_names[t] for t in tables_read(query) if t in full_names))
    except QueryLineageError as exc:
        return _untraced(output_names, str(exc)), tuple(sorted(set(full_names.values())))
    if len(traced) != len(output_names):  # positions would not line up: trust none
        why = (
            f"SQLGlot reads {len(traced)} columns in the query, the answer has {len(output_names)}"
        )
        return _untraced(output_names, why), read
    return traced, read


def _untraced(output_names: Sequence[str], why: str) -> list[OutputColumn]:
    return [OutputColumn(name, frozenset(), why) for name in output_names]


def _merged(held: OutputColumn | None, output: OutputColumn) -> OutputColumn:
    """Two answer columns of one name (`select a.id, b.id`) are one in a row dict: its sources
    are both's."""
    if held is None:
        return output
    unknown = "; ".join(u for u in (held.unknown, output.unknown) if u) or None
    return OutputColumn(output.name, held.sources | output.sources, unknown)


def _log_unknown(sql: str, lineage: AnswerLineage) -> None:
    for name, output in lineage.columns.items():
        if output.unknown:
            logger.warning(
                "served column of unknown lineage: masked for callers without pii:read",
                extra={"column": name, "reason": output.unknown, "query": sql},
            )


def qualified(sql: str, schemas: TableSchemas, *, strict: bool = True) -> "exp.Query":
    """`sql` parsed and qualified against `schemas`: `*` expanded, every column placed.

    `strict` refuses a column no table has; otherwise it is left for `output_columns` to flag.
    Raises `QueryLineageError` naming SQLGlot's complaint.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify

    try:
        expression = qualify(
            sqlglot.parse_one(_parameter_casts_parseable(sql), dialect=DIALECT),
            schema=_nested(schemas),
            dialect=DIALECT,
            validate_qualify_columns=strict,
            identify=False,
        )
    except SqlglotError as exc:
        raise QueryLineageError(f"SQLGlot cannot resolve the query: {exc}") from None
    if not isinstance(expression, exp.Query):
        raise QueryLineageError("the SQL is not a query (select, with ... select, union...).")
    return expression


def _parameter_casts_parseable(sql: str) -> str:
    """`sql` with each `?::type` (a parameter cast the DuckDB way) as `(?)::type`: SQLGlot's
    tokenizer reads `?::` as an operator of its own and then cannot parse the cast."""
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    pieces, copied = [], 0
    for token in Dialect.get_or_raise(DIALECT).tokenize(sql):
        if token.token_type is TokenType.QDCOLON:
            pieces += [sql[copied : token.start], "(?)::"]
            copied = token.end + 1
    return "".join(pieces) + sql[copied:]


def output_columns(
    query: "exp.Query", schemas: TableSchemas, *, counting_reveals: bool = True
) -> list[OutputColumn]:
    """Each output column of `query` (from `qualified`), in order, with its sources.

    With `counting_reveals=False`, what `count(...)` counted is not a source of its result.
    """
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import to_node
    from sqlglot.optimizer.scope import build_scope
    from sqlglot.schema import ensure_schema

    traced = query if counting_reveals else _counts_as_rows(query)
    scope = build_scope(traced)
    if scope is None:
        raise QueryLineageError("SQLGlot finds no scope in the query.")
    schema = ensure_schema(_nested(schemas), dialect=DIALECT)
    outputs = []
    for index, name in enumerate(query.named_selects):
        try:
            root = to_node(index, scope, DIALECT, schema)
        except (SqlglotError, ValueError) as exc:
            outputs.append(OutputColumn(name, frozenset(), f"SQLGlot cannot trace it: {exc}"))
            continue
        outputs.append(_output_column(name, root, schemas))
    return outputs


def tables_read(query: "exp.Query") -> frozenset[str]:
    """Every table `query` reads (in `from`, joins, subqueries of `where`...), CTEs resolved."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import build_scope

    scope = build_scope(query)
    if scope is None:
        raise QueryLineageError("SQLGlot finds no scope in the query.")
    return frozenset(
        table_name(source)
        for inner in scope.traverse()
        for source in inner.sources.values()
        if isinstance(source, exp.Table) and source.name
    )


def table_name(table: "exp.Table") -> str:
    """`catalog.db.name` of a table reference, without its alias."""
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _output_column(name: str, root: "Node", schemas: TableSchemas) -> OutputColumn:
    from sqlglot import exp

    sources: set[SourceColumn] = set()
    unknown: list[str] = []
    for node in root.walk():
        if isinstance(node.expression, exp.Table):
            found, why = _table_leaf(node.expression, node, schemas)
            sources |= found
            unknown += [why] if why else []
            continue
        if isinstance(node.expression, exp.Placeholder):  # what SQLGlot could not place
            unknown.append(f"SQLGlot cannot tell which table `{node.name}` is from")
            continue
        unknown += list(_unseen_inputs(node.expression))
        if not node.downstream:  # computed from no column: a literal, a parameter, count(*)
            sources |= {
                SourceColumn(table_name(read), ROWS)
                for read in node.source.find_all(exp.Table)
                if read.name
            }
    return OutputColumn(name, frozenset(sources), "; ".join(sorted(set(unknown))) or None)


def _table_leaf(
    table: "exp.Table", node: "Node", schemas: TableSchemas
) -> tuple[set[SourceColumn], str | None]:
    """The source columns a leaf of the lineage (`node`, reading `table`) names, and why they
    may be wrong or incomplete."""
    name = table_name(table)
    column = node.name.split(".")[-1].strip('"')
    if not table.name:
        return set(), f"it reads `{table.sql(dialect=DIALECT)}`, which is not a table"
    known = schemas.get(name)
    if known is None:
        return {SourceColumn(name, column)}, f"table `{name}` has no schema"
    if column == "*":  # `t.*` inside an expression, as in row(t.*): every column of t
        return {SourceColumn(name, c) for c in known}, None
    if column not in known:
        return {SourceColumn(name, column)}, f"table `{name}` has no column `{column}`"
    return {SourceColumn(name, column)}, None


def _unseen_inputs(expression: "exp.Expr") -> Iterator[str]:
    """Why a projection may read more than the columns SQLGlot traces: DuckDB constructs that
    reach into a table without naming a column."""
    from sqlglot import exp

    for found in expression.find_all(exp.TableColumn, exp.PositionalColumn, exp.Columns, exp.Star):
        if isinstance(found, exp.Star) and isinstance(found.parent, exp.Count):
            continue  # count(*): rows, not values
        yield f"`{found.sql(dialect=DIALECT)}` reads columns SQLGlot cannot name"


def _counts_as_rows(query: "exp.Query") -> "exp.Query":
    """A copy of `query` with every count as `count(*)`: what it counted does not reach its
    result (a filter on a count, `count(*) filter (where ...)`, goes too)."""
    from sqlglot import exp

    def as_count_of_rows(node: "exp.Expr") -> "exp.Expr":
        counted = node.this if isinstance(node, exp.Filter) else node
        if isinstance(counted, exp.Count | exp.CountIf | exp.ApproxDistinct):
            return exp.Count(this=exp.Star())
        return node

    # Only expressions inside the query are replaced: the root stays a query.
    return cast("exp.Query", query.transform(as_count_of_rows))


def _nested(schemas: TableSchemas) -> dict[str, object]:
    """`schemas` as SQLGlot nests them: one level per part of a dotted table name."""
    nested: dict[str, object] = {}
    for table, columns in schemas.items():
        *parents, name = table.split(".")
        level = nested
        for part in parents:
            level = level.setdefault(part, {})  # type: ignore[assignment]
        level[name] = dict(columns)
    return nested


def _bound(output: OutputColumn, tables: Mapping[str, str]) -> OutputColumn:
    """`output` with its source tables renamed through `tables` (name in the query -> full
    name); a column from outside `tables` makes it unknown. Counted rows of a CTE (the rows of
    whatever it read) carry no value: they are dropped."""
    outside = sorted(
        {s.table for s in output.sources if s.table not in tables and s.column != ROWS}
    )
    unknown = [output.unknown] if output.unknown else []
    unknown += [f"it reads `{name}`, which is not a table of the query" for name in outside]
    sources = frozenset(
        SourceColumn(tables[s.table], s.column) for s in output.sources if s.table in tables
    )
    return OutputColumn(output.name, sources, "; ".join(unknown) or None)
