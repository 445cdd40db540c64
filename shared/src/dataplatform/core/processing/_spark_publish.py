"""Spark publishes a SQL model's output to its Delta table itself, with Delta Lake's connector.

The rows stay in Spark from the query to the commit: they are typed, checked and written where
they were computed, and only what the run records (counts, a check's failing rows, the schema)
comes back to the runner's process. A commit carries the run's `txn` as delta-rs's do (Delta's
`spark.databricks.delta.write.txnAppId`/`txnVersion`), so a rerun after a crash changes nothing,
and the same guard keeps erased people out (their ids' SHA-256 on the suppression list).
"""

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import (
    Lakehouse,
    Txn,
    WriteResult,
    partition_narrowing,
)
from dataplatform.core.errors import SchemaMismatchError, TerminalError
from dataplatform.core.processing._checks import BATCH, CheckOutcome, CheckQueries, evaluate_checks
from dataplatform.core.processing._engines import (
    Relation,
    SparkEngine,
    spark_uri,
    transpile_to_spark,
)
from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._models import DELETE_FLAG, CheckSpec, SqlModel

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# The session settings Delta reads a commit's transaction and metadata from, for a MERGE as for
# a DataFrame write.
_TXN_SETTINGS = (
    "spark.databricks.delta.write.txnAppId",
    "spark.databricks.delta.write.txnVersion",
    "spark.databricks.delta.commitInfo.userMetadata",
)


@dataclass(frozen=True)
class SparkBatch:
    """A run's output, held by Spark: the rows to publish and those the model deletes."""

    rows: "DataFrame"  # typed as the header declares, with derived partitions
    deleted: "DataFrame | None"  # rows flagged `_deleted`, for a merge to remove
    count: int
    deleted_count: int
    schema: pa.Schema  # of `rows`, as the lake will hold it


class SparkPublisher:
    """Runs one model's query on Spark and commits its output there."""

    def __init__(self, engine: SparkEngine, lake: Lakehouse) -> None:
        if "DeltaSparkSessionExtension" not in engine.conf.get("spark.sql.extensions", ""):
            raise TerminalError(
                "Spark writes a model's Delta table itself, with Delta Lake's connector, which "
                "this engine lacks: run infrastructure/local/jvm.sh to fetch its jars, or give "
                "`spark.jars` and `spark.sql.extensions` in the product's spark_conf."
            )
        self.engine = engine
        self.lake = lake

    @contextlib.contextmanager
    def batch(
        self, model: SqlModel, sql: str, relations: Mapping[str, Relation], declared: pa.Schema
    ) -> Iterator[SparkBatch]:
        """The query's output, shaped as the runner shapes a batch, cached while in use."""
        from pyspark.sql import functions

        with self.engine.query(sql, relations) as query:
            # Cached whole: the rows to publish and those to delete are read from it again.
            computed = query.cache()
            try:
                rows, deleted, gone = computed, None, 0
                if DELETE_FLAG in computed.columns:
                    _refuse_delete_flag_outside_merge(model, computed)
                    flag = functions.coalesce(functions.col(DELETE_FLAG), functions.lit(False))
                    gone = _count_where(computed, flag)
                    # A derived `day` may be one of the keys they remove.
                    deleted = (
                        _with_day(model, computed.where(flag).drop(DELETE_FLAG)) if gone else None
                    )
                    rows = computed.where(~flag).drop(DELETE_FLAG)
                rows = _typed(model, _with_day(model, rows), declared)
                count = rows.count()
                yield SparkBatch(rows, deleted, count, gone, _arrow_schema(rows))
            finally:
                computed.unpersist()

    def check(
        self,
        batch: SparkBatch,
        checks: Sequence[CheckSpec],
        existing: str | None,
        recent_row_counts: Sequence[int],
    ) -> list[CheckOutcome]:
        """The model's checks, on Spark; `existing` names the table an append's unique checks
        also look in."""
        if not checks:
            return []
        spark = self.engine.session()
        batch.rows.createOrReplaceTempView(BATCH)
        if existing is not None:
            spark.read.format("delta").load(self._spark_uri(existing)).createOrReplaceTempView(
                "existing"
            )
        try:
            queries: CheckQueries = _SparkQueries(spark)
            return evaluate_checks(
                queries, checks, batch.count, existing is not None, recent_row_counts
            )
        finally:
            spark.catalog.dropTempView(BATCH)
            spark.catalog.dropTempView("existing")

    def publish(
        self,
        model: SqlModel,
        batch: SparkBatch,
        target: str,
        how: Literal["overwrite", "merge", "append"],
        txn: Txn,
        metadata: Mapping[str, str],
        window: tuple[str, datetime, datetime] | None = None,
    ) -> WriteResult:
        """Commit the batch to `target` with `txn`: replaced (within `window`, a backfill's
        (column, start, end), when given), merged on the unique key, or appended."""
        rows = self._admitted(target, batch.rows)
        before = self.lake.table(target).version()
        with self._transaction(txn, metadata):
            if how == "merge":
                self._merge(target, rows, batch.deleted, model.header.unique_key)
            else:
                self._write(target, rows, how, window, model.header.partition_by)
        after = self.lake.table(target).version()
        return WriteResult(target, after, batch.count, nothing_changed=after == before)

    # --- writing --------------------------------------------------------------------------------

    def _write(
        self,
        target: str,
        rows: "DataFrame",
        how: Literal["overwrite", "append"],
        window: tuple[str, datetime, datetime] | None,
        partition_by: Sequence[str],
    ) -> None:
        writer = rows.write.format("delta").mode(how)
        laid_out = self.lake.table(target).metadata().partition_columns
        if how == "overwrite" and window is None and laid_out != list(partition_by):
            # A full refresh adopts the header's new layout, as the lake's overwrite does.
            writer = writer.partitionBy(*partition_by).option("overwriteSchema", "true")
        if window is not None:
            column, start, end = window
            predicate = f"`{column}` >= '{start.isoformat()}' AND `{column}` < '{end.isoformat()}'"
            # A model may compute rows past its window; they keep their published values.
            writer = rows.where(predicate).write.format("delta").mode(how)
            writer = writer.option("replaceWhere", predicate)
        # A column the header declares anew is added, as the lake's writes add it.
        writer.option("mergeSchema", "true").save(self._spark_uri(target))

    def _merge(
        self, target: str, rows: "DataFrame", deleted: "DataFrame | None", keys: Sequence[str]
    ) -> None:
        from pyspark.sql import functions

        _refuse_duplicate_keys(target, rows if deleted is None else rows.unionByName(deleted), keys)
        source = rows.withColumn(DELETE_FLAG, functions.lit(False))
        if deleted is not None:
            source = source.unionByName(deleted.withColumn(DELETE_FLAG, functions.lit(True)))
        # A null key matches its own row, as a grouping does, rather than inserting it again.
        matched = " AND ".join(f"target.`{key}` <=> source.`{key}`" for key in keys)
        matched += self._partitions_touched(target, source, keys)
        columns = ", ".join(f"`{name}`" for name in rows.columns)
        values = ", ".join(f"source.`{name}`" for name in rows.columns)
        updates = ", ".join(f"target.`{name}` = source.`{name}`" for name in rows.columns)
        spark = self.engine.session()
        source.createOrReplaceTempView("merge_source")
        # The source is the run's cached output, the same at each of the merge's passes: Delta
        # need not copy it first (which it does for any source not read from a Delta table).
        spark.conf.set("spark.databricks.delta.merge.materializeSource", "none")
        try:
            spark.sql(
                f"MERGE INTO delta.`{self._spark_uri(target)}` AS target "
                f"USING merge_source AS source ON {matched} "
                f"WHEN MATCHED AND source.{DELETE_FLAG} THEN DELETE "
                f"WHEN MATCHED THEN UPDATE SET {updates} "
                f"WHEN NOT MATCHED AND NOT source.{DELETE_FLAG} THEN INSERT ({columns}) "
                f"VALUES ({values})"
            )
        finally:
            spark.catalog.dropTempView("merge_source")

    def _partitions_touched(self, target: str, source: "DataFrame", keys: Sequence[str]) -> str:
        """` AND target.day IN (...)` when the table is partitioned by a merge key, so that the
        merge opens the source's partitions only (as the lake's own merge does)."""

        def distinct(column: str) -> list[object]:
            return [row[0] for row in source.select(column).distinct().collect()]

        partitions = self.lake.table(target).metadata().partition_columns
        return partition_narrowing(partitions, keys, distinct, _spark_literal)

    def _admitted(self, target: str, rows: "DataFrame") -> "DataFrame":
        """The rows without those of erased people: what the lake's guard admits."""
        from pyspark.sql import functions
        from pyspark.sql.types import StringType

        guard = self.lake.guard
        if guard is None:
            return rows
        columns, erased = guard.erased(target)
        text = [
            field.name
            for field in rows.schema.fields
            if field.name in columns and isinstance(field.dataType, StringType)
        ]
        if not text or not erased:
            return rows
        hashes = sorted(erased)
        for name in text:
            rows = rows.where(
                ~functions.coalesce(
                    functions.sha2(functions.col(name), 256).isin(hashes), functions.lit(False)
                )
            )
        return rows

    @contextlib.contextmanager
    def _transaction(self, txn: Txn, metadata: Mapping[str, str]) -> Iterator[None]:
        """Delta records `txn` with the commit and skips a write whose version it holds."""
        spark = self.engine.session()
        values = (txn.app_id, str(txn.version), json.dumps(dict(metadata), sort_keys=True))
        for setting, value in zip(_TXN_SETTINGS, values, strict=True):
            spark.conf.set(setting, value)
        try:
            yield
        finally:
            for setting in _TXN_SETTINGS:
                spark.conf.unset(setting)

    def _spark_uri(self, table: str) -> str:
        return spark_uri(self.lake.uri(table))


class _SparkQueries:
    """The checks' queries in Spark SQL, over the batch registered as `batch`."""

    def __init__(self, spark: "SparkSession") -> None:
        self.spark = spark

    def failing_rows(self, sql: str) -> pa.Table:
        query = transpile_to_spark(sql)
        rows = self.spark.sql(f"SELECT to_json(struct(*)) AS row FROM ({query}) AS failing")
        return pa.table({"row": pa.array([row[0] for row in rows.collect()], pa.string())})

    def newest(self, column: str) -> datetime | None:
        (row,) = self.spark.sql(f"SELECT max(`{column}`) FROM {BATCH}").collect()
        newest: datetime | None = row[0]
        return newest


def _count_where(rows: "DataFrame", condition: "Column") -> int:
    """How many rows meet `condition`, in the same job as nothing else needs."""
    from pyspark.sql import functions

    (row,) = rows.select(functions.count_if(condition)).collect()
    return int(row[0])


def _with_day(model: SqlModel, rows: "DataFrame") -> "DataFrame":
    """The `day` the header partitions by: the UTC date of the time column (Spark's session
    runs in UTC), checked against a `day` the model computes itself."""
    from pyspark.sql import functions

    header = model.header
    for column in header.derived_partitions:
        time_column = str(header.time_column)
        if time_column not in rows.columns:
            raise ModelDefinitionError(
                model.path,
                None,
                f"model `{model.name}` returns no `{time_column}` (its time_column), which its "
                f"partition column `{column}` is derived from.",
            )
        days = functions.to_date(functions.col(time_column))
        if column not in rows.columns:
            rows = rows.withColumn(column, days)
            continue
        wrong = rows.where(functions.col(column).cast("date") != days).limit(1).collect()
        if wrong:
            raise ModelDefinitionError(
                model.path,
                None,
                f"model `{model.name}` returns `{column}` {wrong[0][column]} for `{time_column}` "
                f"{wrong[0][time_column]}; `{column}` must be its UTC date (or leave it out).",
            )
    return rows


def _typed(model: SqlModel, rows: "DataFrame", declared: pa.Schema) -> "DataFrame":
    """The rows with the header's column types, as `_declared_types` gives DuckDB's."""
    from pyspark.sql import functions
    from pyspark.sql.pandas.types import from_arrow_schema

    if not declared.names:
        return rows
    missing = [name for name in declared.names if name not in rows.columns]
    if missing:
        raise ModelDefinitionError(
            model.path, model.body_line, f"the query returns no column {missing} of the header."
        )
    types = {field.name: field.dataType for field in from_arrow_schema(declared).fields}
    return rows.select(
        *(
            functions.col(f"`{name}`").cast(types[name]).alias(name)
            if name in types
            else functions.col(f"`{name}`")
            for name in rows.columns
        )
    )


def _spark_literal(text: str) -> str:
    """A string literal in Spark SQL, which escapes with a backslash (two quotes in a row would
    be two literals, joined)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _arrow_schema(rows: "DataFrame") -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(rows.schema)


def _refuse_delete_flag_outside_merge(model: SqlModel, computed: "DataFrame") -> None:
    from pyspark.sql.types import BooleanType

    if model.header.materialized != "merge":
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returns `{DELETE_FLAG}`, which only a `merge` model may return "
            f"(it removes the row of its unique_key); an {model.header.materialized} model "
            "leaves the rows out of its query instead.",
        )
    kind = computed.schema[DELETE_FLAG].dataType
    if not isinstance(kind, BooleanType):
        raise ModelDefinitionError(
            model.path,
            None,
            f"model `{model.name}` returns `{DELETE_FLAG}` as {kind.simpleString()}; it must be "
            f"a boolean, e.g. `true as {DELETE_FLAG}`.",
        )


def _refuse_duplicate_keys(name: str, rows: "DataFrame", keys: Sequence[str]) -> None:
    missing = [key for key in keys if key not in rows.columns]
    if missing:
        raise SchemaMismatchError(
            f"Merge key `{missing[0]}` is not a column of the data for `{name}`."
        )
    duplicated = rows.groupBy(*keys).count().where("count > 1")
    first = duplicated.limit(1).collect()
    if first:
        example: dict[str, Any] = {key: first[0][key] for key in keys}
        raise SchemaMismatchError(
            f"Data merged into `{name}` has {duplicated.count()} duplicated key(s), first "
            f"{example}; deduplicate on {list(keys)} before merging."
        )
