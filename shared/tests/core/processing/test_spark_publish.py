"""On Spark, a model's output goes from the query to its Delta table without coming back to the
runner's process: Spark types, checks and commits it, with the run's txn, through the lake's
guard, and delta-rs reads what it wrote."""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from shop_models import write_models

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn, quarantine_of
from dataplatform.core.governance import guard_of
from dataplatform.core.processing import ModelRunner, SparkEngine, build_graph, load_sql_models
from dataplatform.core.processing._engines import Relation
from dataplatform.core.processing._spark_publish import SparkPublisher
from dataplatform.devtools.jvm import JVM_CACHE, missing_jars
from dataplatform.testing import service_missing

# Spark's start-up falls in the first test's time limit.
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

BRONZE = "shop.bronze.orders"
ORDERS = "shop.silver.orders"
TOTALS = "shop.gold.customer_totals"
BRONZE_SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.string()),
        pa.field("customer", pa.string()),
        pa.field("status", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("placed_at", pa.timestamp("us", tz="UTC")),
    ]
)
MODELS = {
    "silver_orders.sql": """
        /* ---
        name: silver.orders
        materialized: append
        time_column: placed_at
        partition_by: [day]
        description: Orders, by the UTC day they were placed.
        columns:
          order_id: {type: varchar}
          customer: {type: varchar, tags: [pii]}
          status: {type: varchar}
          amount: {type: double}
          placed_at: {type: timestamptz}
        checks:
          - {check: not_null, column: order_id}
          - {check: accepted_values, column: status, values: [placed, cancelled]}
        --- */
        select order_id, customer, status, amount, placed_at from ref('bronze.orders')
        """,
    "gold_customer_totals.sql": """
        /* ---
        name: gold.customer_totals
        materialized: merge
        unique_key: [customer]
        description: Per customer, what their orders add up to; none once one is cancelled.
        columns:
          customer: {type: varchar, tags: [pii]}
          orders: {type: bigint}
          amount: {type: double}
        --- */
        select
            customer,
            count(*) as orders,
            sum(amount) as amount,
            bool_or(status = 'cancelled') as _deleted
        from ref_touched('silver.orders', 'customer')
        group by customer
        """,
}


class SparkThatNeverReturnsRows(SparkEngine):
    """Spark, failing any query whose rows would come back to this process, and keeping the
    views each query was given."""

    def __init__(self, master: str) -> None:
        super().__init__(master)
        self.views: list[dict[str, Relation]] = []

    def execute(self, sql: str, relations: Mapping[str, Relation]) -> pa.Table:
        raise AssertionError(f"a query's rows came back to the runner's process: {sql[:80]}")

    def query(self, sql: str, relations: Mapping[str, Relation]) -> Any:
        self.views.append(dict(relations))
        return super().query(sql, relations)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    reason = missing_jars("Spark Delta connector", JVM_CACHE / "spark", "delta-spark_*.jar")
    if reason is not None:  # no `java`, or no jars
        service_missing(reason)
    engine = SparkThatNeverReturnsRows("local[2]")
    yield engine
    engine.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    yield store
    store.dispose()


def orders(*rows: tuple[str | None, str, str, float, int]) -> pa.Table:
    """Bronze orders from (order_id, customer, status, amount, day of March 2026)."""
    return pa.Table.from_pylist(
        [
            {
                "order_id": order_id,
                "customer": customer,
                "status": status,
                "amount": amount,
                "placed_at": datetime(2026, 3, day, 12, tzinfo=UTC),
            }
            for order_id, customer, status, amount, day in rows
        ],
        schema=BRONZE_SCHEMA,
    )


def runner_over(tmp_path: Path, spark: SparkEngine, store: MetadataStore) -> ModelRunner:
    graph = build_graph(
        "shop",
        load_sql_models(write_models(tmp_path / "m", MODELS)),
        [BRONZE.removeprefix("shop.")],
    )
    return ModelRunner(graph, Lakehouse(tmp_path / "lake"), store, spark)


def row_count(data: pa.Table | ds.Dataset) -> int:
    return data.num_rows if isinstance(data, pa.Table) else data.count_rows()


def statuses(runner: ModelRunner) -> dict[str, str]:
    return {result.model: result.status for result in runner.run()}


def totals(lake: Lakehouse) -> dict[str, tuple[int, float]]:
    return {
        row["customer"]: (row["orders"], row["amount"]) for row in lake.read(TOTALS).to_pylist()
    }


def test_spark_commits_appends_and_merges_with_deletes_that_delta_rs_reads(
    tmp_path: Path, spark: SparkEngine, store: MetadataStore
) -> None:
    runner = runner_over(tmp_path, spark, store)
    lake = runner.lake
    lake.append(BRONZE, orders(("o1", "c1", "placed", 10.0, 1), ("o2", "c2", "placed", 5.0, 2)))
    assert set(statuses(runner).values()) == {"succeeded"}
    lake.append(BRONZE, orders(("o3", "c1", "placed", 2.5, 3), ("o4", "c2", "cancelled", 5.0, 3)))

    assert set(statuses(runner).values()) == {"succeeded"}

    # c2 cancelled an order: the merge deleted its row.
    assert totals(lake) == {"c1": (2, 12.5)}
    silver = lake.read(ORDERS)
    assert sorted(silver["order_id"].to_pylist()) == ["o1", "o2", "o3", "o4"]
    assert silver.schema.field("day").type == pa.date32()  # derived by Spark, as the runner does
    assert sorted(str(day) for day in set(silver["day"].to_pylist())) == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
    ]
    assert lake.table(ORDERS).metadata().partition_columns == ["day"]


def test_a_full_refresh_on_spark_lays_out_a_table_its_header_now_partitions(
    tmp_path: Path, spark: SparkEngine, store: MetadataStore
) -> None:
    unpartitioned = {
        **MODELS,
        "silver_orders.sql": MODELS["silver_orders.sql"].replace("[day]", "[]"),
    }
    folder = write_models(tmp_path / "m", unpartitioned)
    graph = build_graph("shop", load_sql_models(folder), [BRONZE.removeprefix("shop.")])
    lake = Lakehouse(tmp_path / "lake")
    lake.append(BRONZE, orders(("o1", "c1", "placed", 10.0, 1), ("o2", "c2", "placed", 5.0, 2)))
    ModelRunner(graph, lake, store, spark).run()
    assert lake.table(ORDERS).metadata().partition_columns == []

    runner = runner_over(tmp_path, spark, store)  # the header as it is now: by day
    results = runner.run(full_refresh=True)

    assert {result.status for result in results} == {"succeeded"}
    assert lake.table(ORDERS).metadata().partition_columns == ["day"]
    assert sorted(lake.read(ORDERS)["order_id"].to_pylist()) == ["o1", "o2"]


def test_a_rerun_of_a_committed_run_commits_nothing_whichever_writer(
    tmp_path: Path, spark: SparkEngine, store: MetadataStore
) -> None:
    runner = runner_over(tmp_path, spark, store)
    lake = runner.lake
    lake.append(BRONZE, orders(("o1", "c1", "placed", 10.0, 1)))
    statuses(runner)
    (run,) = runner.runs.history(ORDERS)
    version = lake.table(ORDERS).version()
    model = runner.graph.models[ORDERS]
    publisher = SparkPublisher(spark, lake)
    views = {"shop__bronze__orders": Relation(lake.read(BRONZE))}
    sql = "select order_id, customer, status, amount, placed_at from shop__bronze__orders"

    # As after a crash between the commit and the run's record: the same run again.
    with publisher.batch(model, sql, views, BRONZE_SCHEMA) as batch:
        again = publisher.publish(
            model, batch, ORDERS, "append", Txn(ORDERS, run.sequence), {"test": "rerun"}
        )
    by_delta_rs = lake.append(ORDERS, lake.read(ORDERS), txn=Txn(ORDERS, run.sequence))

    assert again.nothing_changed and again.version == version
    assert by_delta_rs.skipped  # delta-rs reads the txn Spark committed
    assert lake.read(ORDERS).num_rows == 1


def test_a_failing_check_on_spark_quarantines_the_rows_and_publishes_nothing(
    tmp_path: Path, spark: SparkEngine, store: MetadataStore
) -> None:
    runner = runner_over(tmp_path, spark, store)
    lake = runner.lake
    lake.append(BRONZE, orders(("o1", "c1", "placed", 1.0, 1), (None, "c2", "returned", 2.0, 1)))

    results = {result.model: result for result in runner.run()}

    refused = results[ORDERS]
    assert refused.status == "failed" and "checks failed, the batch was not published" in str(
        refused.error
    )
    failed = {check["check"]: check for check in refused.checks if not check["passed"]}
    assert failed["not_null"]["failing_rows"] == 1
    assert failed["accepted_values"]["failing_rows"] == 1
    assert not lake.exists(ORDERS) or lake.read(ORDERS).num_rows == 0
    quarantined = lake.read(quarantine_of("shop", "silver.orders"))
    assert "returned" in " ".join(quarantined["row"].to_pylist())


def test_spark_keeps_an_erased_persons_rows_out_of_its_commits(
    tmp_path: Path, spark: SparkEngine, store: MetadataStore
) -> None:
    runner = runner_over(tmp_path, spark, store)
    lake = runner.lake
    guard_of(lake).suppress(["c2"], "erasure-1")
    lake.append(BRONZE, orders(("o1", "c1", "placed", 1.0, 1)))
    # Past the guard: a bronze table no model writes, as a late delivery would arrive.
    lake.guard, guard = None, lake.guard
    lake.append(BRONZE, orders(("o2", "c2", "placed", 2.0, 1)))
    lake.guard = guard

    assert set(statuses(runner).values()) == {"succeeded"}

    assert lake.read(ORDERS)["customer"].to_pylist() == ["c1"]
    assert totals(lake) == {"c1": (1, 1.0)}


def test_rows_read_by_the_runner_reach_spark_as_staged_files_deleted_after(
    tmp_path: Path, spark: SparkThatNeverReturnsRows, store: MetadataStore
) -> None:
    runner = runner_over(tmp_path, spark, store)
    runner.lake.append(BRONZE, orders(("o1", "c1", "placed", 10.0, 1)))
    runner.run()
    runner.lake.append(BRONZE, orders(("o2", "c1", "placed", 4.0, 2)))
    spark.views.clear()

    assert set(statuses(runner).values()) == {"succeeded"}

    # The change feed of bronze and the touched customers' orders: Arrow read here, given to
    # Spark as files in the lake's staging folder (Arrow would be held in the driver's heap).
    staging = tmp_path / "lake" / "_staging"
    given = [relation for views in spark.views for relation in views.values()]
    staged = [relation for relation in given if relation.files and "_staging" in relation.files[0]]
    assert len(staged) >= 2
    assert all(Path(file).parent.parent == staging for r in staged for file in r.files)
    in_memory = [relation.data for relation in given if not relation.files]
    assert [data for data in in_memory if row_count(data)] == []
    assert list(staging.iterdir()) == []  # deleted once each run was done
    assert totals(runner.lake) == {"c1": (2, 14.0)}
