"""A real Apache Kafka broker for the Kafka bus tests: single node, KRaft mode, on loopback
(`dataplatform.devtools.kafka_broker`, which the ingestion benchmark starts too). The S3 server
of the `s3://` lake tests is in ../conftest.py, shared with the Spark engine's tests.

Without its jars the tests skip, saying so, except under `CI=true`, where they fail: CI must
never pass by skipping.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplatform.devtools.kafka_broker import KAFKA_JARS, KafkaBroker, missing_kafka_jars
from dataplatform.testing import service_missing


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
