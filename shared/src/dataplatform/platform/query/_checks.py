"""What SQL a caller may run: one SELECT over catalogued tables they may read, nothing else.

Parsed with SQLGlot (DuckDB's dialect). Every table the query names is looked up in the catalog
by its full name (`web_user_analytics.gold.pages`) and replaced by a view of that table's
snapshot; a name the catalog does not hold, a file, a table function other than `range`,
`generate_series` and `unnest`, and a function that reads files or settings are refused before
anything runs. The sandbox the query then runs in (`core/sandbox.py`) is the second wall.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from dataplatform.core.errors import InvalidRequestError, did_you_mean

FIELD = "body.sql"
# Table functions that make rows out of values, not out of files or the database's own state.
VALUE_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest, exp.ExplodingGenerateSeries)
# Functions that read files, the environment or the database's own state, wherever they appear.
REFUSED_PREFIXES = ("read_", "glob", "duckdb_", "pragma_", "sniff_", "parquet_", "sqlite_")
REFUSED_FUNCTIONS = frozenset(
    {"getenv", "current_setting", "query", "query_table", "which_secret", "iceberg_scan"}
)


@dataclass(frozen=True)
class CheckedQuery:
    """The caller's query with each table as a view (`tables`: view -> full name)."""

    sql: str
    tables: Mapping[str, str]


def check_query(sql: str, resolve: Callable[[str], str]) -> CheckedQuery:
    """`sql` checked and rewritten; `resolve` turns a table's name as written into the full
    name of a table the caller may read (raising when it is none). 422 naming `sql` otherwise."""
    statement = _one_select(sql)
    for function in statement.find_all(exp.Func):
        name = _function_name(function)
        if name in REFUSED_FUNCTIONS or name.startswith(REFUSED_PREFIXES):
            raise _refused(f"Function `{name}` is refused: queries read catalogued tables only.")
    views: dict[str, str] = {}
    named = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    for table in list(statement.find_all(exp.Table)):
        if isinstance(table.this, VALUE_TABLE_FUNCTIONS):
            continue
        if not isinstance(table.this, exp.Identifier):
            raise _refused(
                f"Table function `{_function_name(table.this)}` is refused: a query reads "
                "catalogued tables (and `range`, `generate_series`, `unnest`)."
            )
        if not table.db and table.name in named:
            continue  # a CTE of the query itself
        full_name = resolve(_written(table))
        view = next((v for v, name in views.items() if name == full_name), f"t{len(views)}")
        views[view] = full_name
        alias = table.alias or table.name
        table.replace(exp.to_table(view).as_(alias, quoted=True))
    return CheckedQuery(statement.sql(dialect="duckdb"), views)


def _one_select(sql: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        raise _refused(
            f"The query is not SQL DuckDB reads{where}: {first.get('description', error)}."
        ) from None
    if len(statements) != 1:
        raise _refused(f"Send one statement, not {len(statements)}: a query is a single SELECT.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = statement.sql(dialect="duckdb").split(maxsplit=1)[0].upper() or "This"
        raise _refused(
            f"`{kind}` statements are refused: a query is one read-only SELECT (or WITH ... "
            "SELECT)."
        )
    return statement


def _written(table: exp.Table) -> str:
    """A table's name as the query wrote it: `product.layer.table`."""
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _function_name(function: exp.Expr) -> str:
    if isinstance(function, exp.Anonymous):
        return str(function.name).lower()
    if isinstance(function, exp.Func):
        return function.sql_name().lower()
    return function.key


def _refused(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field=FIELD)


def unknown_table(written: str, readable: list[str]) -> InvalidRequestError:
    """The 422 for a name that is no table the caller may read."""
    return _refused(
        f"No table `{written}` you may read; name tables in full (`product.layer.table`). "
        f"GET /catalog/tables lists them.{did_you_mean(written, readable)}"
    )
