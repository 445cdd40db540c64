"""Spark and the lake (delta-rs) share Delta tables on S3: each reads what the other wrote on a
real S3-compatible server (S3Proxy on loopback, the `s3_server` fixture), Spark through Hadoop's
S3A filesystem at the table's `s3a://` URI, and a model runs on Spark over an `s3://` lake.

The S3A jars come with Delta's from `infrastructure/local/jvm.sh`; without them, Java or the
server's jars the tests skip, naming the script, except under CI=true, where they fail.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from shop_models import EVENTS, SUMMARY, events, shop_graph, write_models
from shop_models import MODELS as SHOP_MODELS

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.processing import ModelRunner, SparkEngine, create_engine
from dataplatform.core.processing._engines import _SPARK_JVM, s3a_settings, spark_uri
from dataplatform.devtools.jvm import JVM_CACHE, missing_jars
from dataplatform.devtools.s3_server import CREDENTIAL, S3Server
from dataplatform.testing import service_missing

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SPARK_JARS = JVM_CACHE / "spark"
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
def spark(s3_server: S3Server) -> Iterator[SparkEngine]:
    """Spark built as `dataplatform models run` builds it for a lake on the module's server."""
    for needed, pattern in (
        ("Spark Delta connector", "delta-spark_*.jar"),
        ("S3A", "hadoop-aws-*"),
    ):
        reason = missing_jars(needed, SPARK_JARS, pattern)
        if reason is not None:  # no `java`, or no jars
            service_missing(reason)
    lake = Lakehouse("s3://lake", s3_server.storage_options)
    engine = create_engine("spark", storage_options=lake.storage_options)
    assert isinstance(engine, SparkEngine)
    yield engine
    engine.stop()


def test_the_lake_storage_options_become_s3a_settings(s3_server: S3Server) -> None:
    options = {**s3_server.storage_options, "AWS_CONDITIONAL_PUT": "etag"}

    assert s3a_settings(options) == {
        "spark.hadoop.fs.s3a.endpoint": s3_server.endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.access.key": "dataplatform-test",
        "spark.hadoop.fs.s3a.secret.key": "dataplatform-test-credential",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
    }
    assert spark_uri("s3://lake/shop/bronze/orders") == "s3a://lake/shop/bronze/orders"
    assert spark_uri("/data/lake/shop/bronze/orders") == "/data/lake/shop/bronze/orders"


def test_aws_s3_with_a_session_token_and_virtual_hosted_requests() -> None:
    options = {
        "aws_region": "eu-west-1",
        "aws_access_key_id": "AKIAEXAMPLE",
        "aws_secret_access_key": "example-secret",
        "aws_session_token": "example-token",
        "aws_virtual_hosted_style_request": "true",
    }

    assert s3a_settings(options) == {
        "spark.hadoop.fs.s3a.endpoint.region": "eu-west-1",
        "spark.hadoop.fs.s3a.access.key": "AKIAEXAMPLE",
        "spark.hadoop.fs.s3a.secret.key": "example-secret",
        "spark.hadoop.fs.s3a.session.token": "example-token",
        "spark.hadoop.fs.s3a.path.style.access": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        ),
    }
    assert s3a_settings(None) == s3a_settings({"AWS_CONDITIONAL_PUT": "etag"}) == {}


def test_the_keys_stay_off_the_spark_jvm_command_line(spark: SparkEngine) -> None:
    spark.session()
    command_lines = [" ".join(str(part) for part in jvm.args) for jvm in _SPARK_JVM]

    assert "spark.hadoop.fs.s3a.secret.key" in spark.conf
    assert command_lines
    assert not [line for line in command_lines if CREDENTIAL in line]


def test_spark_reads_a_table_the_lake_wrote_on_s3(spark: SparkEngine, s3_lake: Lakehouse) -> None:
    first_batch = orders(("o1", 12.5, at(9)), ("o2", 3.0, at(9, 30)))
    first_version = s3_lake.append(ORDERS, first_batch, txn=Txn("shop", 1)).version
    s3_lake.append(ORDERS, orders(("o3", 7.25, at(23, 59))), txn=Txn("shop", 2))

    reader = spark.session().read.format("delta")
    table = spark_uri(s3_lake.uri(ORDERS))
    latest = reader.load(table).orderBy("order_id").collect()
    first = reader.option("versionAsOf", first_version).load(table).collect()

    assert table.startswith("s3a://lake/")
    # The session's time zone is UTC, so Spark hands timestamps back as naive UTC wall times.
    assert [tuple(row) for row in latest] == [
        ("o1", 12.5, datetime(2026, 3, 1, 9)),
        ("o2", 3.0, datetime(2026, 3, 1, 9, 30)),
        ("o3", 7.25, datetime(2026, 3, 1, 23, 59)),
    ]
    assert sorted(row.order_id for row in first) == ["o1", "o2"]


def test_the_lake_reads_a_table_spark_wrote_on_s3(
    spark: SparkEngine, s3_server: S3Server, s3_lake: Lakehouse
) -> None:
    session = spark.session()
    columns = "order_id string, amount double, placed_at timestamp"
    first = session.createDataFrame([("o1", 12.5, at(9))], columns)
    later = session.createDataFrame([("o2", 3.0, at(9, 30)), ("o3", 7.25, at(23, 59))], columns)
    first.write.format("delta").save(spark_uri(s3_lake.uri(ORDERS)))
    later.write.format("delta").mode("append").save(spark_uri(s3_lake.uri(ORDERS)))

    # On the server's disk, where the lake's store keeps its objects: written through S3.
    assert (
        s3_server.stored(s3_lake.uri(ORDERS)) / "_delta_log/00000000000000000001.json"
    ).is_file()
    assert [str(name) for name in s3_lake.tables()] == [ORDERS]
    assert s3_lake.version(ORDERS) == 1
    assert s3_lake.read(ORDERS).sort_by("order_id").to_pylist() == [
        {"order_id": "o1", "amount": 12.5, "placed_at": at(9)},
        {"order_id": "o2", "amount": 3.0, "placed_at": at(9, 30)},
        {"order_id": "o3", "amount": 7.25, "placed_at": at(23, 59)},
    ]
    assert s3_lake.read(ORDERS, version=0).column("order_id").to_pylist() == ["o1"]


def test_a_model_runs_on_spark_over_an_s3_lake(
    spark: SparkEngine, s3_lake: Lakehouse, tmp_path: Path
) -> None:
    """silver.events drops the repeated e2; gold.user_summary adds the second batch to what it
    holds (`this()`, read back from S3): u1 2 events + 1, 10.0 + 2.5."""
    models = {name: SHOP_MODELS[name] for name in ("silver_events.sql", "gold_user_summary.sql")}
    graph = shop_graph(write_models(tmp_path / "models", models))
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    runner = ModelRunner(graph, s3_lake, store, spark)
    batches = [
        events(
            ("e1", "u1", "view", 0.0, 0),
            ("e2", "u1", "buy", 10.0, 30),
            ("e2", "u1", "buy", 10.0, 30),
            ("e3", "u2", "buy", 5.5, 90),
        ),
        events(("e4", "u1", "buy", 2.5, 150)),
    ]
    for batch in batches:
        s3_lake.append("shop.bronze.events", batch)
        results = runner.run()
        assert {r.status for r in results} == {"succeeded"}, [r.error for r in results]

    summary = s3_lake.read(SUMMARY).sort_by("user_id")
    assert summary.select(["user_id", "events", "revenue"]).to_pylist() == [
        {"user_id": "u1", "events": 3, "revenue": 12.5},
        {"user_id": "u2", "events": 1, "revenue": 5.5},
    ]
    assert sorted(s3_lake.read(EVENTS).column("event_id").to_pylist()) == ["e1", "e2", "e3", "e4"]
