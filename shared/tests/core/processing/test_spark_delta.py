"""Spark, with Delta Lake's connector, and delta-rs (the lake) share tables: each reads what the
other wrote, versions and all.

The connector's jars come from `infrastructure/local/jvm.sh`; without them (or without Java) the
tests skip, naming the script, except under CI=true, where they fail.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.processing import SparkEngine
from dataplatform.devtools.jvm import JVM_CACHE, missing_jars
from dataplatform.testing import service_missing

pytestmark = pytest.mark.spark

DELTA_JARS = JVM_CACHE / "spark"
ORDERS = "shop.bronze.orders"
SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("placed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC)


def orders(*rows: tuple[str, float, datetime]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"order_id": o, "amount": a, "placed_at": p} for o, a, p in rows], schema=SCHEMA
    )


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    reason = missing_jars("Spark Delta connector", DELTA_JARS, "delta-spark_*.jar")
    if reason is not None:  # no `java`, or no jars
        service_missing(reason)
    engine = SparkEngine("local[2]")
    yield engine
    engine.stop()


def test_the_engine_takes_the_connector_from_the_jars_jvm_sh_copied(spark: SparkEngine) -> None:
    jars = spark.conf["spark.jars"].split(",")
    assert sorted(Path(jar).parent for jar in jars) == [DELTA_JARS] * len(jars)
    assert any(Path(jar).name.startswith("delta-spark_2.13-4.0.") for jar in jars)
    assert spark.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_spark_reads_a_table_the_lake_appended_to(spark: SparkEngine, tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    first_batch = orders(("o1", 12.5, at(9)), ("o2", 3.0, at(9, 30)))
    first_version = lake.append(ORDERS, first_batch, txn=Txn("shop", 1)).version
    lake.append(ORDERS, orders(("o3", 7.25, at(23, 59))), txn=Txn("shop", 2))

    reader = spark.session().read.format("delta")
    latest = reader.load(lake.uri(ORDERS)).orderBy("order_id").collect()
    first = reader.option("versionAsOf", first_version).load(lake.uri(ORDERS)).collect()

    # The session's time zone is UTC, so Spark hands timestamps back as naive UTC wall times.
    assert [tuple(row) for row in latest] == [
        ("o1", 12.5, datetime(2026, 3, 1, 9)),
        ("o2", 3.0, datetime(2026, 3, 1, 9, 30)),
        ("o3", 7.25, datetime(2026, 3, 1, 23, 59)),
    ]
    assert sorted(row.order_id for row in first) == ["o1", "o2"]


def test_the_lake_reads_a_table_spark_wrote(spark: SparkEngine, tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    session = spark.session()
    columns = "order_id string, amount double, placed_at timestamp"
    first = session.createDataFrame([("o1", 12.5, at(9))], columns)
    later = session.createDataFrame([("o2", 3.0, at(9, 30)), ("o3", 7.25, at(23, 59))], columns)
    first.write.format("delta").save(lake.uri(ORDERS))
    later.write.format("delta").mode("append").save(lake.uri(ORDERS))

    assert [str(name) for name in lake.tables()] == [ORDERS]
    assert lake.version(ORDERS) == 1
    assert lake.read(ORDERS).sort_by("order_id").to_pylist() == [
        {"order_id": "o1", "amount": 12.5, "placed_at": at(9)},
        {"order_id": "o2", "amount": 3.0, "placed_at": at(9, 30)},
        {"order_id": "o3", "amount": 7.25, "placed_at": at(23, 59)},
    ]
    assert lake.read(ORDERS, version=0).column("order_id").to_pylist() == ["o1"]
