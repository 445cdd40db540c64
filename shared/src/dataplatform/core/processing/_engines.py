"""Engines that run a model's SQL: DuckDB in process (default) and Spark for scale-out.

A model's SQL is written once, in the DuckDB dialect; the runner renders each ref(), source()
and this() as the name of a view, and the engine binds those views to the input relations.
Spark gets the same SQL transpiled by SQLGlot, and reads a Delta snapshot's parquet files itself.
"""

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
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
            # Results come back to this process as Arrow, to be written by the runner.
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
        spark = self.session()
        for view, relation in relations.items():
            self._frame(spark, relation).createOrReplaceTempView(view)
        schemas = {view: column_types(relation.schema) for view, relation in relations.items()}
        try:
            return spark.sql(transpile_to_spark(sql, schemas)).toArrow()
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
            return spark.read.schema(_spark_schema(relation.schema)).parquet(*relation.files)
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


def transpile_to_spark(sql: str, schemas: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The DuckDB-dialect `sql` in Spark SQL.

    With the views' `schemas`, `select *` is expanded first: Spark has no QUALIFY, and the
    subquery that replaces it must not hand its helper column on to a `*`.
    """
    import sqlglot
    from sqlglot.optimizer.qualify import qualify

    expression = sqlglot.parse_one(sql, dialect="duckdb")
    if schemas:
        expression = qualify(
            expression,
            schema={view: dict(columns) for view, columns in schemas.items()},
            dialect="duckdb",
            quote_identifiers=False,
            validate_qualify_columns=False,
        )
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
    if isinstance(node, exp.Anonymous) and node.name.lower() in _INTERVAL_PARTS:
        return _day_time_interval(node)
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        return _union_by_position(node)
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.IgnoreNulls):
        # Spark's grammar: `f(x) FILTER (WHERE ...) IGNORE NULLS`, in that order.
        aggregate = node.this.this.transform(_without_ignore_nulls_argument)
        return exp.IgnoreNulls(this=exp.Filter(this=aggregate, expression=node.expression))
    if isinstance(node, exp.Select) and node.args.get("windows"):
        return _named_windows_inlined(node)
    return node


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


def _day_time_interval(node: "exp.Anonymous") -> "exp.Expression":
    from sqlglot import exp

    arguments: list[exp.Expression] = [exp.Literal.number(0)] * 4
    arguments[_INTERVAL_PARTS[node.name.lower()]] = node.expressions[0]
    return exp.Anonymous(this="make_dt_interval", expressions=arguments)


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
    name: str, *, spark_master: str = "local[2]", spark_conf: Mapping[str, str] | None = None
) -> Engine:
    """The engine a product's settings name: `duckdb` or `spark`."""
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine(spark_master, spark_conf)
    raise TerminalError(f"engine `{name}` is unknown; use `duckdb` or `spark`.")


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
