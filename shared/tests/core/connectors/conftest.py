"""A real Apache Kafka broker for the Kafka bus tests: single node, KRaft mode, on loopback
(`dataplatform.devtools.kafka_broker`, which the ingestion benchmark starts too); and a real
S3-compatible server, S3Proxy on loopback (`dataplatform.devtools.s3_server`), for the `s3://`
lake tests.

Without their jars the tests skip, saying so, except under `CI=true`, where they fail: CI must
never pass by skipping.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.devtools.kafka_broker import KAFKA_JARS, KafkaBroker, missing_kafka_jars
from dataplatform.devtools.s3_server import S3_JARS, S3Server, missing_s3_jars
from dataplatform.testing import service_missing

S3_BUCKET = "lake"


def kafka_jars() -> Path:
    """The cached broker jars, or skip (fail under CI=true) naming the script that brings them."""
    reason = missing_kafka_jars()
    if reason is not None:
        service_missing(reason)
    return KAFKA_JARS


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One broker for the module's tests (3 partitions a new topic), stopped after them."""
    broker = KafkaBroker(kafka_jars(), tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka(kafka_broker: KafkaBroker) -> KafkaBroker:
    """The module's broker with no bus topic left by an earlier test."""
    kafka_broker.delete_bus_topics()
    return kafka_broker


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 server for the module's tests, with an empty bucket `lake`, stopped after them;
    skips (fails under CI=true) without its jars, naming the script that brings them."""
    reason = missing_s3_jars()
    if reason is not None:
        service_missing(reason)
    server = S3Server(S3_JARS, tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        server.create_bucket(S3_BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_lake(s3_server: S3Server, tmp_path: Path) -> Lakehouse:
    """An empty lake at `s3://lake/<test>` on the module's S3 server."""
    return Lakehouse(f"s3://{S3_BUCKET}/{tmp_path.name}", s3_server.storage_options)
