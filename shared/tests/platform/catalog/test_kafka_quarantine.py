"""The catalog lists a Kafka ingestion worker's quarantine (messages that were not rows) once
the worker has made it, on SQLite and PostgreSQL, as it lists the validation and model ones."""

import pyarrow as pa

from dataplatform.core.connectors.bus.kafka import UNDECODABLE_SCHEMA, topic_for
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.catalog import DataCatalog

BRONZE = "mobile_user_analytics.bronze.app_events"
# Where the worker writing BRONZE keeps what it could not read, and the one writing the
# stream's validation quarantine, which nothing has made here.
KAFKA_QUARANTINE = "mobile_user_analytics.quarantine.bronze_app_events"
NOT_MADE = "mobile_user_analytics.quarantine.quarantine_app_events"


def a_tombstone_quarantined(lake: Lakehouse) -> None:
    """What the worker writes for a message with no value at offset 41 of partition 2."""
    tombstone = {
        "kafka_topic": topic_for(BRONZE),
        "kafka_partition": 2,
        "kafka_offset": 41,
        "kafka_timestamp": None,
        "reason": "the message has no value (a tombstone)",
        "value": None,
    }
    lake.append(KAFKA_QUARANTINE, pa.Table.from_pylist([tombstone], UNDECODABLE_SCHEMA))


def test_a_kafka_quarantine_is_catalogued_with_its_message_bytes_as_pii(
    store: MetadataStore, lake: Lakehouse
) -> None:
    a_tombstone_quarantined(lake)
    catalog = DataCatalog(store, lake)

    catalog.register_products(discover_products())

    entry = catalog.get_table(KAFKA_QUARANTINE)
    assert (entry.product, entry.owner) == ("mobile-user-analytics", "mobile-analytics-team")
    assert entry.description.startswith(f"Kafka messages on their way into `{BRONZE}` that are")
    # The bytes are a producer's rows, the person's included.
    assert entry.pii_columns == ["value"]
    assert entry.tags == ["quarantine", "pii"]
    assert NOT_MADE not in {listed.name for listed in catalog.list_tables()}
