"""Engines that run a model's SQL: DuckDB in process (default) and Spark for scale-out.

A model's SQL is written once, in the DuckDB dialect; the runner renders each ref(), source()
and this() as the name of a view, and the engine binds those views to the input relations.
Spark gets the same SQL transpiled by SQLGlot, and reads a Delta snapshot's parquet files itself.
"""

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.core.connectors.lakehouse import prunes_by_row_group, read_keys
from dataplatform.core.errors import TerminalError, extra_required

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from sqlglot import exp


@dataclass(frozen=True)
class Relation:
    """One input of a run: Arrow rows (or a lazy dataset), plus the snapshot's files if it is whole."""

    data: pa.Table | ds.Dataset
    # The parquet files of a whole, unpartitioned snapshot: Spark reads them without a copy.
    files: tuple[str, ...] = field(default=())
    # A snapshot's partition columns: every file holds one value of each, so filters prune files.
    partitions: tuple[str, ...] = field(default=())

    @property
    def schema(self) -> pa.Schema:
        return self.data.schema


class Engine(Protocol):
    name: str

    def execute(self, sql: str, relations: Mapping[str, Relation]) -> pa.Table:
        """Run `sql` (DuckDB dialect) with each view name in `relations` bound to its rows."""
        ...


class DuckDBEngine:
    """DuckDB in this process; a fresh connection per query keeps threads apart."""

    name = "duckdb"

    def __init__(self, memory_limit: str | None = None) -> None:
        self.config: dict[str, str | bool | int | float | list[str]] = (
            {"memory_limit": memory_limit} if memory_limit else {}
        )

    def execute(self, sql: str, relations: Mapping[str, Relation]) -> pa.Table:
        try:
            return self._execute(sql, relations, push_filters=True)
        except duckdb.InvalidInputException as error:
            if "string_view" not in str(error):
                raise
            # delta-rs's merge and delete write strings as `string_view`, appends as `string`;
            # pyarrow cannot push DuckDB's string filters into a dataset mixing the two. Such
            # datasets are then scanned by pyarrow as they are and filtered by DuckDB.
            logger.info("string filters not pushed into mixed-type datasets: %s", error)
            return self._execute(sql, relations, push_filters=False)

    def _execute(
        self, sql: str, relations: Mapping[str, Relation], *, push_filters: bool
    ) -> pa.Table:
        connection = duckdb.connect(config=self.config)
        try:
            for view, relation in relations.items():
                if relation.files:  # DuckDB's own parquet reader: parallel, and ~2.5x faster
                    connection.read_parquet(list(relation.files)).create_view(view)
                elif push_filters or not isinstance(relation.data, ds.Dataset):
                    connection.register(view, relation.data)
                else:
                    connection.register(view, relation.data.scanner())
            return connection.sql(sql).to_arrow_table()
        finally:
            connection.close()


class SparkEngine:
    """Spark (local mode or a cluster): the model's SQL transpiled from DuckDB's dialect by SQLGlot."""

    name = "spark"

    def __init__(self, master: str = "local[2]", conf: Mapping[str, str] | None = None) -> None:
        self.master = master
        self.conf = {
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.memory": "2g",
            # A model run's output stays in Spark (`SparkPublisher`); what `execute` returns, a
            # check's failing rows, comes back whole.
            "spark.driver.maxResultSize": "0",
            **delta_connector(),
            **(conf or {}),
        }
        self._session: SparkSession | None = None
        self._lock = threading.Lock()

    def session(self) -> "SparkSession":
        with self._lock:
            if self._session is None:
                with extra_required("spark", "The engine `spark`"):  # Java is checked at start
                    from pyspark.sql import SparkSession
                builder = SparkSession.builder.master(self.master).appName("dataplatform")
                for key, value in self.conf.items():
                    builder = builder.config(key, value)
                with _spark_gateway({"spark.master": self.master, **self.conf}):
                    self._session = builder.getOrCreate()
            return self._session

    def execute(self, sql: str, relations: Mapping[str, Relation]) -> pa.Table:
        """The rows, brought to this process (a model run publishes from Spark instead: see
        `SparkPublisher`)."""
        with self.query(sql, relations) as rows:
            return rows.toArrow()

    @contextlib.contextmanager
    def query(self, sql: str, relations: Mapping[str, Relation]) -> Iterator["DataFrame"]:
        """`sql`'s rows as a Spark DataFrame, while the views it reads stay bound."""
        spark = self.session()
        for view, relation in relations.items():
            self._frame(spark, relation).createOrReplaceTempView(view)
        schemas = {view: column_types(relation.schema) for view, relation in relations.items()}
        try:
            yield spark.sql(transpile_to_spark(sql, schemas))
        finally:
            for view in relations:
                spark.catalog.dropTempView(view)

    def stop(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.stop()
                self._session = None

    @staticmethod
    def _frame(spark: "SparkSession", relation: Relation) -> "DataFrame":
        if relation.files:
            files = [spark_uri(file) for file in relation.files]
            return spark.read.schema(_spark_schema(relation.schema)).parquet(*files)
        data = relation.data if isinstance(relation.data, pa.Table) else relation.data.to_table()
        if not data.num_rows:  # pyspark fails on a nested column of an Arrow table without chunks
            return spark.createDataFrame([], _spark_schema(data.schema))
        return spark.createDataFrame(data)


def delta_connector() -> dict[str, str]:
    """The settings that give Spark Delta Lake's connector (Spark then reads and writes Delta
    tables itself), from the jars `infrastructure/local/jvm.sh` copies; none without them."""
    jars = sorted(_delta_jars_folder().glob("*.jar"))
    if not any(jar.name.startswith("delta-spark_") for jar in jars):
        return {}
    return {
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Delta rebuilds a table's state from its log in 50 tasks by default, ~1 s each in
        # local mode for a table of a few files; like the shuffle partitions above, a few will do.
        "spark.databricks.delta.snapshotPartitions": "4",
    }


def _delta_jars_folder() -> Path:
    # Where jvm.sh puts infrastructure/jvm/spark/pom.xml's jars: `dataplatform.devtools.jvm`'s
    # JVM_CACHE, worked out again because a deployment never imports the devtools.
    cache = os.environ.get("DATAPLATFORM_JVM_CACHE") or (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dataplatform/jvm"
    )
    return Path(cache) / "spark"


def spark_uri(uri: str) -> str:
    """Where Spark opens the lake's table at `uri`: an `s3://` table through Hadoop's S3A
    filesystem (`s3a://`), which `s3a_settings` points at the lake's store; others as they are."""
    return "s3a://" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


def s3a_settings(storage_options: Mapping[str, str] | None) -> dict[str, str]:
    """Spark's settings that reach the store of a lake opened with `storage_options` (delta-rs's
    `AWS_*` keys, in any of the spellings delta-rs takes) through S3A: the same endpoint, region
    and credentials, path-style addressing unless virtual-hosted style is asked for, and no TLS
    for an `http://` endpoint. Options S3A has no use for (the conditional put) are left out;
    without keys, S3A's own chain looks for them (the `AWS_*` variables, the instance's role)."""
    given = {
        _S3_OPTION_NAMES[key.lower()]: value
        for key, value in (storage_options or {}).items()
        if key.lower() in _S3_OPTION_NAMES
    }
    if not given:
        return {}
    virtual_hosted = given.get("virtual_hosted_style", "false").strip().lower() == "true"
    settings = {"fs.s3a.path.style.access": str(not virtual_hosted).lower()}
    for option, s3a_key in _S3A_KEYS.items():
        if given.get(option):
            settings[s3a_key] = given[option]
    if given.get("endpoint", "").lower().startswith("http://"):
        settings["fs.s3a.connection.ssl.enabled"] = "false"
    if given.get("session_token"):  # S3A's default providers ignore a session token
        settings["fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        )
    return {f"spark.hadoop.{key}": value for key, value in settings.items()}


# delta-rs's spellings of each S3 option (its object store's, compared lower-cased).
_S3_OPTION_NAMES = {
    spelling: option
    for option, spellings in {
        "endpoint": ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint"),
        "region": ("aws_region", "region", "aws_default_region", "default_region"),
        "access_key": ("aws_access_key_id", "access_key_id"),
        "secret_key": ("aws_secret_access_key", "secret_access_key"),
        "session_token": ("aws_session_token", "aws_token", "session_token", "token"),
        "virtual_hosted_style": (
            "aws_virtual_hosted_style_request",
            "virtual_hosted_style_request",
        ),
    }.items()
    for spelling in spellings
}
_S3A_KEYS = {
    "endpoint": "fs.s3a.endpoint",
    "region": "fs.s3a.endpoint.region",
    "access_key": "fs.s3a.access.key",
    "secret_key": "fs.s3a.secret.key",
    "session_token": "fs.s3a.session.token",
}


def transpile_to_spark(sql: str, schemas: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The DuckDB-dialect `sql` in Spark SQL.

    With the views' `schemas`, `select *` is expanded first: Spark has no QUALIFY, and the
    subquery that replaces it must not hand its helper column on to a `*`. The types are worked
    out too: some DuckDB forms have two Spark forms, one per type (`len` of a list or a string).
    """
    import sqlglot
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    expression = sqlglot.parse_one(sql, dialect="duckdb").transform(_json_typed)
    if schemas is not None:
        schema: dict[str, object] = {view: dict(columns) for view, columns in schemas.items()}
        expression = qualify(
            expression,
            schema=schema,
            dialect="duckdb",
            quote_identifiers=False,
            validate_qualify_columns=False,
        )
        expression = annotate_types(expression, schema=schema, dialect="duckdb")
    return expression.transform(_spark_form).sql(dialect="spark")


def _spark_form(node: "exp.Expression") -> "exp.Expression":
    """`node` as Spark has it, where SQLGlot would hand Spark DuckDB's form unchanged."""
    rewritten = _rewritten(node)
    # `transform` does not descend into a node it was handed back in place of another.
    return node if rewritten is node else rewritten.transform(_spark_form)


def _rewritten(node: "exp.Expression") -> "exp.Expression":
    from sqlglot import exp

    if isinstance(node, exp.SimilarTo):  # a whole-string regular expression match
        return exp.RegexpLike(this=node.this, expression=_anchored(node.expression))
    if isinstance(node, exp.RegexpExtract) and node.args.get("parameters"):
        return _with_inline_flags(node)
    if isinstance(node, exp.RegexpExtract) and not node.args.get("group"):
        # DuckDB extracts the whole match by default, Spark the first group.
        return exp.RegexpExtract(
            this=node.this, expression=node.expression, group=exp.Literal.number(0)
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
        return exp.Struct(expressions=node.expressions)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
        return _wall_time(node)
    if isinstance(node, exp.ToDays):  # SQLGlot knows DuckDB's to_days, not its siblings
        return _day_time_interval("to_days", node.this)
    if isinstance(node, exp.Anonymous) and node.name.lower() in _INTERVAL_PARTS:
        return _day_time_interval(node.name.lower(), node.expressions[0])
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        return _union_by_position(node)
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.IgnoreNulls):
        # Spark's grammar: `f(x) FILTER (WHERE ...) IGNORE NULLS`, in that order.
        aggregate = node.this.this.transform(_without_ignore_nulls_argument)
        return exp.IgnoreNulls(this=exp.Filter(this=aggregate, expression=node.expression))
    if isinstance(node, exp.Select) and node.args.get("windows"):
        return _named_windows_inlined(node)
    if isinstance(node, exp.Select) and len(_unnested_items(node)) > 1:
        return _unnested_in_parallel(node)
    if isinstance(node, exp.Select) and any(_is_asof(join) for join in node.args.get("joins", [])):
        return _asof_joins_as_lookups(node)
    if isinstance(node, exp.Select) and _qualified_outside_windows(node.args.get("qualify")):
        return _qualify_unqualified(node)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Explode):
        # Spark takes a generator only outermost in a select item: cast the list instead.
        elements = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[node.to], nested=True)
        return exp.Explode(this=exp.Cast(this=node.this.this, to=elements))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return exp.UnixMicros(this=node.expressions[0])
    if isinstance(node, exp.Filter) and _is_ordered_aggregate(node.this):
        return _aggregated_in_order(node.this, node.expression)
    if _is_ordered_aggregate(node):
        return _aggregated_in_order(node, None)
    if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
        return _maps_comparable(node)
    if isinstance(node, exp.FromJson) and isinstance(node.expression, exp.Literal):
        spark_type = _json_structure_type(node.expression).sql(dialect="spark")
        return exp.Anonymous(
            this="from_json", expressions=[node.this, exp.Literal.string(spark_type)]
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("list_sum", "array_sum"):
        return _list_sum(node.expressions[0])
    if isinstance(node, exp.Bracket) and any(isinstance(e, exp.Slice) for e in node.expressions):
        return _list_slice(node)
    if isinstance(node, exp.TimeToUnix):
        return _epoch_seconds(node.this)
    if isinstance(node, exp.Length) and _typed(node.this, "array", "map"):
        return exp.ArraySize(this=node.this)  # Spark's length counts a string's characters only
    if isinstance(node, exp.Sub) and _typed(node.this, "date") and _typed(node.expression, "date"):
        # DuckDB's difference of two dates is a count of days, Spark's an interval.
        return exp.Anonymous(this="datediff", expressions=[node.this, node.expression])
    return node


def _unnested_items(select: "exp.Select") -> list["exp.Alias"]:
    from sqlglot import exp

    return [
        item
        for item in select.expressions
        if isinstance(item, exp.Alias) and isinstance(item.this, exp.Explode)
    ]


def _unnested_in_parallel(select: "exp.Select") -> "exp.Expression":
    """DuckDB's `unnest(a) AS x, unnest(b) AS y` in one select walks the lists side by side;
    Spark takes one generator per select: `inline(arrays_zip(a, b)) AS (x, y)`, in the place of
    the first (the shorter list padded with nulls, as DuckDB does)."""
    from sqlglot import exp

    rewritten = select.copy()
    items = _unnested_items(rewritten)
    zipped = exp.Anonymous(this="arrays_zip", expressions=[item.this.this for item in items])
    walked = exp.Aliases(
        this=exp.Anonymous(this="inline", expressions=[zipped]),
        expressions=[exp.to_identifier(item.alias) for item in items],
    )
    items[0].replace(walked)
    for item in items[1:]:
        item.pop()
    return rewritten


def _is_asof(join: "exp.Join") -> bool:
    return str(join.args.get("method") or "").upper() == "ASOF"


# The nearest row of an as-of join, by how its ON clause bounds the joined table's column: below
# (`t <= x`: the latest) or above (`t >= x`: the earliest).
_NEAREST = {"LTE": "max_by", "LT": "max_by", "GTE": "min_by", "GT": "min_by"}
_MIRRORED = {"LTE": "GTE", "LT": "GT", "GTE": "LTE", "GT": "LT"}


def _asof_joins_as_lookups(select: "exp.Select") -> "exp.Expression":
    """Each `ASOF LEFT JOIN t ON ... AND t.x <= y` (Spark has no as-of join) dropped, and each
    column of `t` the query reads looked up in the nearest row instead: a correlated scalar
    subquery, `(SELECT max_by(t.c, t.x) FROM t WHERE ...)`, null when no row matches."""
    from sqlglot import exp

    rewritten = select.copy()
    joins = rewritten.args["joins"]
    lookups: dict[str, Callable[[str], exp.Expression]] = {}
    for join in [join for join in joins if _is_asof(join)]:
        if str(join.args.get("side") or "").upper() != "LEFT":
            raise TerminalError(
                f"`{join.sql(dialect='duckdb')}` has no Spark form: only an ASOF LEFT JOIN has."
            )
        lookups[join.alias_or_name] = _nearest_row_lookup(join)
        joins.remove(join)
    for column in list(rewritten.find_all(exp.Column)):
        if column.table in lookups and column.find_ancestor(exp.Select) is rewritten:
            column.replace(lookups[column.table](column.name))
    return rewritten


def _nearest_row_lookup(join: "exp.Join") -> "Callable[[str], exp.Expression]":
    """For an as-of `join`: a column's name -> its value in the nearest row of the joined table."""
    from sqlglot import exp

    alias, inner = join.alias_or_name, f"{join.alias_or_name}_asof"
    condition = join.args["on"].copy()
    for column in condition.find_all(exp.Column):
        if column.table == alias:
            column.set("table", exp.to_identifier(inner))
    conjuncts = condition.flatten() if isinstance(condition, exp.And) else [condition]
    bound = next(
        (
            comparison
            for comparison in conjuncts
            if comparison.key.upper() in _NEAREST
            and inner in {getattr(side, "table", None) for side in comparison.args.values()}
        ),
        None,
    )
    if bound is None:
        raise TerminalError(
            f"`{join.sql(dialect='duckdb')}` has no Spark form: its ON clause must bound a "
            "column of the joined table with <=, <, >= or >."
        )
    ordered_by, relation = bound.this, bound.key.upper()
    if getattr(ordered_by, "table", None) != inner:
        ordered_by, relation = bound.expression, _MIRRORED[relation]
    table = join.this.copy()
    renamed = table.args.get("alias") or exp.TableAlias()  # keeping its column names, if any
    renamed.set("this", exp.to_identifier(inner))
    table.set("alias", renamed)

    def lookup(name: str) -> exp.Expression:
        value = exp.Anonymous(
            this=_NEAREST[relation],
            expressions=[exp.column(name, table=inner), ordered_by.copy()],
        )
        return exp.select(value).from_(table.copy()).where(condition.copy()).subquery()

    return lookup


def _qualified_outside_windows(qualify: "exp.Expression | None") -> list["exp.Column"]:
    from sqlglot import exp

    if qualify is None:
        return []
    return [
        column
        for column in qualify.find_all(exp.Column)
        if column.table and not column.find_ancestor(exp.Window)
    ]


def _qualify_unqualified(select: "exp.Select") -> "exp.Expression":
    """The columns of `select`'s QUALIFY without their table: SQLGlot moves the query into a
    subquery for Spark (which has no QUALIFY) and filters its rows outside, where the tables
    inside are out of reach but their columns are there by name. Window functions move inside
    with their columns."""
    rewritten = select.copy()
    for column in _qualified_outside_windows(rewritten.args["qualify"]):
        column.set("table", None)
    return rewritten


def _json_typed(node: "exp.Expression") -> "exp.Expression":
    """`from_json(text, structure)` cast to the type its structure describes, so SQLGlot knows
    the type of what it returns (and of the columns that hold it), as DuckDB does."""
    from sqlglot import exp

    if not isinstance(node, exp.FromJson) or not isinstance(node.expression, exp.Literal):
        return node
    return exp.Cast(this=node.copy(), to=_json_structure_type(node.expression))


def _json_structure_type(structure: "exp.Literal") -> "exp.DataType":
    """The type of DuckDB's JSON `structure` of `from_json`: `'[{"name": "VARCHAR"}]'` is
    `STRUCT(name VARCHAR)[]`."""
    from sqlglot import exp

    def duckdb_type(part: object) -> str:
        if isinstance(part, list) and len(part) == 1:
            return f"{duckdb_type(part[0])}[]"
        if isinstance(part, dict) and part:
            fields = ", ".join(f'"{name}" {duckdb_type(kind)}' for name, kind in part.items())
            return f"STRUCT({fields})"
        if isinstance(part, str):
            return part
        raise TerminalError(
            f"from_json's structure `{structure.name}` has no Spark form: give a type name, a "
            "list of one structure, or an object of structures."
        )

    return exp.DataType.build(duckdb_type(json.loads(structure.name)), dialect="duckdb")


def _is_ordered_aggregate(node: "exp.Expression") -> bool:
    from sqlglot import exp

    return isinstance(node, (exp.ArrayAgg, exp.First, exp.GroupConcat)) and isinstance(
        node.this, exp.Order
    )


def _aggregated_in_order(
    aggregate: "exp.Expression", condition: "exp.Expression | None"
) -> "exp.Expression":
    """DuckDB's `list(x ORDER BY ...)`, `first(...)` and `string_agg(...)` in that order:
    Spark's collect_list keeps no order (SQLGlot drops the ORDER BY) and skips nulls, so each
    value is collected in a struct beside its sort keys, sorted, and taken out again."""
    from sqlglot import exp

    order: exp.Order = aggregate.this
    value, distinct = order.this, isinstance(order.this, exp.Distinct)
    if distinct:
        (value,) = value.expressions
    keys = [ordered.this for ordered in order.expressions]
    fields = [exp.alias_(value, "v"), *(exp.alias_(key, f"k{i}") for i, key in enumerate(keys))]
    collect = "collect_set" if distinct else "collect_list"
    collected: exp.Expression = exp.Anonymous(
        this=collect, expressions=[exp.Struct(expressions=fields)]
    )
    if condition is not None:
        collected = exp.Filter(this=collected, expression=condition)
    comparisons = " ".join(
        _key_comparison(f"k{i}", ordered) for i, ordered in enumerate(order.expressions)
    )
    values = _from_template(
        f"transform(array_sort(collected, (l, r) -> case {comparisons} else 0 end), e -> e.v)",
        collected,
    )
    if isinstance(aggregate, exp.First):
        return exp.Anonymous(this="get", expressions=[values, exp.Literal.number(0)])
    if isinstance(aggregate, exp.GroupConcat):
        separator = aggregate.args.get("separator") or exp.Literal.string(",")
        return exp.Anonymous(this="array_join", expressions=[values, separator])
    return values


def _key_comparison(key: str, ordered: "exp.Ordered") -> str:
    """The cases of an `array_sort` comparator of `l` and `r` that `ordered` decides: by nulls,
    then by value; on a tie none applies, and the next key's cases decide."""
    null_side = -1 if ordered.args.get("nulls_first") else 1
    smaller = 1 if ordered.args.get("desc") else -1
    return (
        f"when l.{key} is null and r.{key} is not null then {null_side} "
        f"when l.{key} is not null and r.{key} is null then {-null_side} "
        f"when l.{key} < r.{key} then {smaller} when l.{key} > r.{key} then {-smaller}"
    )


def _maps_comparable(comparison: "exp.Expression") -> "exp.Expression":
    """`a IS [NOT] DISTINCT FROM b` with each map in `a` and `b` (themselves, or members of a
    row) as its sorted entries: Spark compares no maps."""
    from sqlglot import exp

    def entries(node: "exp.Expression") -> "exp.Expression":
        if not _typed(node, "map"):
            return node
        listed = exp.Anonymous(this="map_entries", expressions=[node.copy()])
        return exp.Anonymous(this="array_sort", expressions=[listed])

    def comparable(side: "exp.Expression") -> "exp.Expression":
        if isinstance(side, (exp.Tuple, exp.Struct)) or (
            isinstance(side, exp.Anonymous) and side.name.lower() == "row"
        ):
            if any(_typed(member, "map") for member in side.expressions):
                rebuilt = side.copy()
                rebuilt.set("expressions", [entries(member) for member in side.expressions])
                return rebuilt
            return side
        return entries(side)

    sides = [comparable(comparison.this), comparable(comparison.expression)]
    if sides[0] is comparison.this and sides[1] is comparison.expression:
        return comparison
    return comparison.__class__(this=sides[0], expression=sides[1])


def _list_slice(bracket: "exp.Bracket") -> "exp.Expression":
    """DuckDB's `items[first:last]` (1-based, both ends kept, either left out) of a list, as
    Spark's `slice(items, first, length)`; of a string, as `substring`."""
    from sqlglot import exp

    (bounds,) = bracket.expressions
    if not isinstance(bounds, exp.Slice):
        raise TerminalError(f"`{bracket.sql(dialect='duckdb')}` has no Spark form.")
    items = bracket.this
    first = bounds.this or exp.Literal.number(1)
    whole = exp.Anonymous(this="size", expressions=[items.copy()])
    last = bounds.expression or whole
    length = _folded(
        exp.Add(
            this=exp.Sub(this=last.copy(), expression=first.copy()),
            expression=exp.Literal.number(1),
        )
    )
    if _typed(items, "text", "varchar"):
        return exp.Substring(this=items, start=first, length=length)
    return exp.Anonymous(this="slice", expressions=[items, first, length])


def _list_sum(values: "exp.Expression") -> "exp.Expression":
    """DuckDB's `list_sum(values)` (Spark has none): the sum of the values that are not null,
    null when there are none, folded with `aggregate` in a type wide enough for the sum."""
    from sqlglot import exp

    element = values.type.expressions[0] if values.type and _typed(values, "array") else None
    total = "DOUBLE"
    if element is not None and element.is_type(*exp.DataType.INTEGER_TYPES):
        total = "BIGINT"
    elif element is not None and element.is_type("decimal"):
        scale = element.expressions[1].name if len(element.expressions) > 1 else "0"
        total = f"DECIMAL(38, {scale})"
    return _from_template(
        f"aggregate(listed, cast(null as {total}), (running, item) -> "
        f"coalesce(running + cast(item as {total}), running, cast(item as {total})))",
        values,
    )


def _from_template(template: str, placeholder_value: "exp.Expression") -> "exp.Expression":
    """The Spark SQL `template` with its first column, a placeholder, replaced by
    `placeholder_value`."""
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(template, dialect="spark")
    placeholder = parsed.find(exp.Column, bfs=False)
    if not isinstance(parsed, exp.Expression) or placeholder is None:
        raise TerminalError(f"the template `{template}` has no placeholder column.")
    placeholder.replace(placeholder_value)
    return parsed


def _epoch_seconds(value: "exp.Expression") -> "exp.Expression":
    """DuckDB's `epoch(value)`: the seconds of an interval, or since 1970 of an instant, with
    their fraction (Spark's `unix_timestamp` drops it). An interval is read as the difference
    of two instants, the only interval whose seconds Spark can count."""
    from sqlglot import exp

    def micros(instant: "exp.Expression") -> "exp.Expression":
        return exp.UnixMicros(this=instant)

    shifted_instant = isinstance(value, exp.Sub) and (
        isinstance(value.expression, exp.Interval) or _typed(value.expression, "interval")
    )
    seconds: exp.Expression
    if isinstance(value, exp.Sub) and not shifted_instant:
        seconds = exp.Sub(this=micros(value.this), expression=micros(value.expression))
    else:
        seconds = micros(value)
    return exp.Div(this=exp.paren(seconds), expression=exp.Literal.number(1_000_000))


def _typed(node: "exp.Expression", *kinds: str) -> bool:
    """Whether SQLGlot worked out `node`'s type (with the views' schemas) as one of `kinds`."""
    return node.type is not None and node.type.is_type(*kinds)


def _anchored(pattern: "exp.Expression") -> "exp.Expression":
    return _text_around(pattern, "^(?:", ")$")


def _text_around(pattern: "exp.Expression", before: str, after: str = "") -> "exp.Expression":
    """`before || pattern || after`, folded into one string when `pattern` is a literal."""
    from sqlglot import exp

    if isinstance(pattern, exp.Literal) and pattern.is_string:
        return exp.Literal.string(before + pattern.name + after)
    parts = [exp.Literal.string(before), pattern, exp.Literal.string(after)]
    return exp.Concat(expressions=parts, safe=True)


def _with_inline_flags(node: "exp.RegexpExtract") -> "exp.Expression":
    """DuckDB's options argument (`'i'`: ignore case) as the pattern's inline flags, the only
    form Spark's regular expressions take."""
    from sqlglot import exp

    options = node.args["parameters"]
    flags = {"i": "(?i)", "c": ""}
    if not isinstance(options, exp.Literal) or set(options.name) - flags.keys():
        raise TerminalError(
            f"regexp_extract's options `{options.sql()}` have no Spark form; only 'i' and 'c' "
            "do: write the pattern's flags inline, e.g. '(?i)...'."
        )
    inline = "".join(flags[option] for option in options.name)
    group = node.args.get("group") or exp.Literal.number(0)
    pattern = _text_around(node.expression, inline)
    return exp.RegexpExtract(this=node.this, expression=pattern, group=group)


def _wall_time(node: "exp.Anonymous") -> "exp.Expression":
    """DuckDB's `timezone(zone, instant)` of a timestamptz (the lake's timestamps all are): the
    instant's wall time in `zone`, no zone attached. Spark's `from_utc_timestamp` shifts the
    instant by the zone's offset, which the engine's UTC session then shows as that wall time."""
    from sqlglot import exp

    zone, instant = node.expressions
    shifted = exp.Anonymous(this="from_utc_timestamp", expressions=[instant, zone])
    return exp.Cast(this=shifted, to=exp.DataType.build("timestamp_ntz", dialect="spark"))


def _union_by_position(union: "exp.Union") -> "exp.Expression":
    """`a UNION [ALL] BY NAME b` (not in Spark's SQL) as a positional union: each side selects
    every name of both, in order of first appearance, NULL where it has none."""
    from sqlglot import exp

    sides = [_query_side(side) for side in (union.this, union.expression)]
    names = list(dict.fromkeys(name for side in sides for name in side.named_selects))

    def aligned(side: "exp.Query") -> "exp.Select":
        present = set(side.named_selects)
        columns = [
            exp.column(name, quoted=True)
            if name in present
            else exp.alias_(exp.null(), name, quoted=True)
            for name in names
        ]
        return exp.select(*columns).from_(side.subquery("by_name"))

    left, right = (aligned(side) for side in sides)
    positional = exp.Union(this=left, expression=right)
    for key, value in union.args.items():  # its WITH, ORDER BY, DISTINCT ...
        if key not in ("this", "expression", "by_name"):
            positional.set(key, value)
    return positional


def _query_side(side: "exp.Expression") -> "exp.Query":
    """A union's side, itself a union by name rewritten first: its names are known after."""
    from sqlglot import exp

    rewritten = side.transform(_spark_form) if isinstance(side, exp.Union) else side
    if not isinstance(rewritten, exp.Query):
        raise TerminalError(f"a side of a UNION BY NAME is not a query: `{side.sql()}`.")
    return rewritten


# DuckDB's `to_days(n)` ... `to_seconds(n)`: the position of n in Spark's
# `make_dt_interval(days, hours, minutes, seconds)`.
_INTERVAL_PARTS = {"to_days": 0, "to_hours": 1, "to_minutes": 2, "to_seconds": 3}
_INTERVAL_UNITS = {
    "to_days": "DAY",
    "to_hours": "HOUR",
    "to_minutes": "MINUTE",
    "to_seconds": "SECOND",
}


def _day_time_interval(function: str, count: "exp.Expression") -> "exp.Expression":
    """DuckDB's `to_days(count)` ... `to_seconds(count)`: a literal interval when `count` is a
    constant (a window frame's bound must be one in Spark), else `make_dt_interval`."""
    from sqlglot import exp

    constant = _folded(count)
    if isinstance(constant, exp.Literal) and constant.name.isdigit():
        unit = exp.var(_INTERVAL_UNITS[function])
        return exp.Interval(this=exp.Literal.string(constant.name), unit=unit)
    arguments: list[exp.Expression] = [exp.Literal.number(0)] * 4
    arguments[_INTERVAL_PARTS[function]] = count
    return exp.Anonymous(this="make_dt_interval", expressions=arguments)


def _folded(expression: "exp.Expression") -> "exp.Expression":
    """`expression` computed, where it is arithmetic on numbers (`var()` settings arrive as
    `cast(30 as integer)`, in sums such as `cast(60 as integer) - 1`)."""
    from sqlglot import exp
    from sqlglot.optimizer.simplify import simplify

    def uncast(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
            return node.this.copy()
        return node

    folded: exp.Expression = simplify(expression.transform(uncast))
    return folded


def _without_ignore_nulls_argument(node: "exp.Expression") -> "exp.Expression":
    # SQLGlot reads DuckDB's `any_value(x)` (which skips nulls) as `any_value(x) IGNORE NULLS`;
    # `any_value(x IGNORE NULLS)` gets it inside the call too, where Spark takes none.
    from sqlglot import exp

    if isinstance(node, exp.IgnoreNulls) and isinstance(node.parent, exp.AggFunc):
        argument: exp.Expression = node.this
        return argument
    return node


def _named_windows_inlined(select: "exp.Select") -> "exp.Expression":
    """Each `OVER (name ROWS ...)` with its named window written out: Spark takes a named
    window only alone (`OVER name`)."""
    from sqlglot import exp

    named = {window.name: window for window in select.args["windows"]}

    def inline(node: "exp.Expression") -> "exp.Expression":
        definition = named.get(node.alias) if isinstance(node, exp.Window) else None
        if definition is None:
            return node
        window = node.copy()
        window.set("alias", None)
        for part in ("partition_by", "order", "spec"):
            given = definition.args.get(part)
            if given and not window.args.get(part):
                copied = (
                    [item.copy() for item in given] if isinstance(given, list) else given.copy()
                )
                window.set(part, copied)
        return window

    inlined = select.transform(inline)
    inlined.set("windows", None)
    return inlined


def rows_of_keys(
    rows: Relation, column: str, keys: pa.Array, where: ds.Expression | None = None
) -> pa.Table:
    """The rows of `rows` whose `column` is among `keys` (and that `where` keeps), with `rows`'
    schema.

    A snapshot's files are read only where their row groups hold a key (`read_keys`). Rows in
    memory, and a dataset pyarrow filters (it hides its files), go through a DuckDB semi-join:
    pyarrow fails comparing the statistics of string files delta-rs's merge wrote as
    `string_view` with a `string` list.
    """
    if not len(keys):
        return rows.schema.empty_table()
    if isinstance(rows.data, ds.FileSystemDataset) and prunes_by_row_group(rows.data):
        found = read_keys(rows.data, column, keys, where=where)
        logger.debug(
            "read %d of %d row groups (%d files) for %d keys of `%s`",
            found.row_groups_read,
            found.row_groups,
            found.files_read,
            len(keys),
            column,
        )
        return found.rows.cast(rows.schema)
    sql = f'select * from touched_rows where "{column}" in (select key from touched_keys)'
    found_rows = DuckDBEngine().execute(
        sql, {"touched_rows": rows, "touched_keys": Relation(pa.table({"key": keys}))}
    )
    if where is not None:
        found_rows = found_rows.filter(where)
    return found_rows.cast(rows.schema)


def column_types(schema: pa.Schema) -> dict[str, str]:
    """Each column's DuckDB type name, as SQLGlot's schemas want them."""
    relation = _types_connection().from_arrow(schema.empty_table())
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


_per_thread = threading.local()


def _types_connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection for type names, opened once: runners in threads of one
    process must not share DuckDB's default connection (it refuses a second caller instead of
    waiting), and a connection per call would be opened on every model run."""
    connection: duckdb.DuckDBPyConnection | None = getattr(_per_thread, "connection", None)
    if connection is None:
        connection = _per_thread.connection = duckdb.connect()
    return connection


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def create_engine(
    name: str,
    *,
    spark_master: str = "local[2]",
    spark_conf: Mapping[str, str] | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> Engine:
    """The engine a product's settings name: `duckdb` or `spark`. Spark reaches an S3 lake with
    the lake's `storage_options` (`s3a_settings`); a setting in `spark_conf` wins over them."""
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine(spark_master, {**s3a_settings(storage_options), **(spark_conf or {})})
    raise TerminalError(f"engine `{name}` is unknown; use `duckdb` or `spark`.")


# Spark's own pattern for the settings it redacts (`spark.redaction.regex`).
_SECRET_SETTING = re.compile(r"(?i)secret|password|token|access[.]?key")

# The JVM of this process's Spark driver, started once (as pyspark does) and kept until exit,
# when its stdin closes and it ends.
_SPARK_JVM: list[subprocess.Popen[bytes]] = []


@contextlib.contextmanager
def _spark_gateway(conf: Mapping[str, str]) -> Iterator[None]:
    """pyspark connected to a JVM started here, not by pyspark: its launcher runs Python between
    fork and exec (a `preexec_fn` that ignores Ctrl-C), which can crash the child of a process
    with threads (seen in the test workers). A session of its own keeps Ctrl-C away instead."""
    if "PYSPARK_GATEWAY_PORT" in os.environ or _SPARK_JVM:
        yield  # pyspark already has its gateway
        return
    port, secret = _start_spark_jvm(conf)
    os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"] = str(port), secret
    try:
        yield
    finally:  # pyspark keeps its connection; later sessions of this process reuse it
        del os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"]


def _start_spark_jvm(conf: Mapping[str, str]) -> tuple[int, str]:
    from pyspark.find_spark_home import _find_spark_home

    # pyspark ships no type hints.
    spark_home = _find_spark_home()  # type: ignore[no-untyped-call]
    command = [str(Path(spark_home) / "bin" / "spark-submit")]
    for key, value in conf.items():
        # Any user of the machine reads a command line (`ps`): secrets (S3A's keys) stay off it,
        # and reach Spark through the session's builder.
        if not _SECRET_SETTING.search(key):
            command += ["--conf", f"{key}={value}"]
    folder = Path(tempfile.mkdtemp())
    address_file = folder / "gateway"  # where the JVM writes its port and secret
    environment = {
        **os.environ,
        "SPARK_CONNECT_MODE": "0",
        "_PYSPARK_DRIVER_CONN_INFO_PATH": str(address_file),
    }
    try:
        jvm = subprocess.Popen(  # noqa: S603 (Spark's own launcher, no shell)
            [*command, "pyspark-shell"],
            stdin=subprocess.PIPE,  # closed when this process ends: the JVM then ends too
            env=environment,
            start_new_session=True,
        )
        while jvm.poll() is None and not address_file.is_file():
            time.sleep(0.1)
        if not address_file.is_file():
            raise TerminalError(
                f"Spark's JVM exited with {jvm.returncode} before it started listening; "
                "check that Java 17 is on the PATH (its output is above)."
            )
        port, secret = _gateway_address(address_file)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _SPARK_JVM.append(jvm)
    return port, secret


def _gateway_address(path: Path) -> tuple[int, str]:
    """The port and secret the JVM wrote to `path`, in pyspark's framing (pyspark is untyped)."""
    from pyspark.serializers import UTF8Deserializer, read_int

    with path.open("rb") as address:
        port = read_int(address)  # type: ignore[no-untyped-call]
        secret = UTF8Deserializer().loads(address)  # type: ignore[no-untyped-call]
    return int(port), str(secret)
