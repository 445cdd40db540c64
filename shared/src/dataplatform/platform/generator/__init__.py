"""Synthetic traffic: per event through the collector, or columnar straight into bronze."""

from dataplatform.platform.generator._columns import write_columns
from dataplatform.platform.generator._traffic import (
    Person,
    Traffic,
    TrafficGenerator,
    WriteKeys,
    batches,
    happening_now,
    send_live_over_http,
    send_over_http,
    write_to_bronze,
)
from dataplatform.platform.generator._volume import Volume, expected_events

__all__ = [
    "Person",
    "Traffic",
    "TrafficGenerator",
    "Volume",
    "WriteKeys",
    "batches",
    "expected_events",
    "happening_now",
    "send_live_over_http",
    "send_over_http",
    "write_columns",
    "write_to_bronze",
]
