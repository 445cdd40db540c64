"""The bus between the collector and bronze: embedded (default), Redis Streams or Kafka.

`publish(table, rows)` returns only once the rows are durable: in bronze for the embedded bus,
in the broker for Redis and Kafka, whose ingestion workers then write bronze exactly once.
"""

from dataplatform.core.connectors.bus._base import Bus, decode_rows, encode_rows
from dataplatform.core.connectors.bus._embedded import EmbeddedBus

__all__ = ["Bus", "EmbeddedBus", "decode_rows", "encode_rows"]
