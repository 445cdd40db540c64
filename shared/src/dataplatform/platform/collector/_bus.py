"""The bus the settings choose, in one place: what the collector publishes to, and the worker
that moves a stream from it into bronze."""

import threading
from typing import Protocol

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.bus import Bus, EmbeddedBus
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.governance import protect
from dataplatform.core.product import declared_person_columns


class IngestWorker(Protocol):
    """Moves one table's events from the bus into bronze until `stop` is set."""

    def run(self, stop: threading.Event) -> None: ...


def bronze_lake(settings: PlatformSettings, store: MetadataStore) -> Lakehouse:
    """The lake bronze is written to, by the embedded bus or an ingestion worker.

    Its commits pass `store`'s suppression list: an erased person's new events are dropped,
    since the erasure promised they would not be written back.
    """
    lake = Lakehouse(settings.lake_root, settings.storage_options)
    protect(lake, store, declared_person_columns())
    return lake


def build_bus(settings: PlatformSettings, store: MetadataStore) -> Bus:
    """The bus the settings choose; the embedded one writes through `bronze_lake`."""
    if settings.bus == "redis":
        from dataplatform.core.connectors.bus.redis import RedisStreamBus

        return RedisStreamBus(settings.redis_url)
    if settings.bus == "kafka":
        from dataplatform.core.connectors.bus.kafka import KafkaBus

        return KafkaBus(settings.kafka_bootstrap_servers)
    return EmbeddedBus(bronze_lake(settings, store), settings.collector.commit_interval_ms / 1000)


def ingest_worker(
    settings: PlatformSettings, lake: Lakehouse, table: str, consumer: str
) -> IngestWorker:
    """The worker moving `table` from the chosen bus into `lake` as `consumer` of its group."""
    if settings.bus == "redis":
        from dataplatform.core.connectors.bus.redis import RedisIngestWorker

        return RedisIngestWorker(lake, settings.redis_url, table, consumer=consumer)
    if settings.bus == "kafka":
        from dataplatform.core.connectors.bus.kafka import KafkaIngestWorker

        return KafkaIngestWorker(lake, settings.kafka_bootstrap_servers, table, consumer=consumer)
    raise TerminalError(
        "The embedded bus writes bronze inside the collector; set DATAPLATFORM_BUS=redis "
        "or kafka to run ingestion workers."
    )
