"""What each product's Spark parity test shares: its hand-made world goes through every model of
the product, tick by tick, once on DuckDB and once on Spark, in two lakes; then every SQL
model's table must hold the same rows on both."""

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    DuckDBEngine,
    Engine,
    ModelGraph,
    ModelRunner,
    SparkEngine,
    SqlModel,
)
from dataplatform.testing import comparable_rows, service_missing

# Writes a world's inputs into the lake, yielding after each tick's: the models run there.
World = Callable[[Lakehouse], Iterable[None]]


def sql_models(graph: ModelGraph) -> list[str]:
    """Every SQL model of `graph`: a model added later is compared without a test changing."""
    return sorted(name for name, model in graph.models.items() if isinstance(model, SqlModel))


def lakes_on_both_engines(
    tmp_path_factory: pytest.TempPathFactory, graph: ModelGraph, world: World
) -> Iterator[dict[str, Lakehouse]]:
    """The lake `world` leaves on each engine (by the engine's name), for a module fixture."""
    if shutil.which("java") is None:
        service_missing("Java 17 is needed for Spark's local mode")
    spark = SparkEngine("local[2]")
    try:
        yield {
            engine.name: _run_ticks(graph, engine, tmp_path_factory.mktemp(engine.name), world)
            for engine in (DuckDBEngine(), spark)
        }
    finally:
        spark.stop()


def assert_spark_writes_what_duckdb_writes(
    lakes: dict[str, Lakehouse], table: str, ignore: Sequence[str] = ()
) -> None:
    """The same columns and rows; `ignore` names columns that hold the run's own clock."""
    duck, spark = lakes["duckdb"].read(table), lakes["spark"].read(table)
    assert duck.num_rows > 0, f"{table} is empty: the world does not exercise it"
    assert spark.schema.names == duck.schema.names
    duck, spark = duck.drop_columns(list(ignore)), spark.drop_columns(list(ignore))
    assert comparable_rows(spark) == comparable_rows(duck)


def _run_ticks(graph: ModelGraph, engine: Engine, folder: Path, world: World) -> Lakehouse:
    lake = Lakehouse(folder / "lake")
    store = MetadataStore(f"sqlite:///{folder / 'metadata.db'}")
    store.upgrade()
    runner = ModelRunner(graph, lake, store, engine)
    for _ in world(lake):
        results = runner.run()
        failed = [result for result in results if result.status not in ("succeeded", "up_to_date")]
        assert not failed, [(result.model, result.error) for result in failed]
    store.dispose()
    return lake
