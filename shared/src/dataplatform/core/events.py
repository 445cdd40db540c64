"""The canonical event envelope every bronze event table stores (see docs/architecture.md, how an
event travels), and the quarantine rows that hold what was accepted but failed validation."""

import pyarrow as pa

_UTC_MICROS = pa.timestamp("us", tz="UTC")
EVENT_TYPES = ("track", "page", "screen", "identify", "alias", "group")

ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),  # one of EVENT_TYPES
        pa.field("event", pa.string()),  # track: the event; page/screen: the page or screen name
        pa.field("user_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        # Skew-corrected: received_at - (sent_at - original_timestamp).
        pa.field("timestamp", _UTC_MICROS, nullable=False),
        pa.field("original_timestamp", _UTC_MICROS),
        pa.field("sent_at", _UTC_MICROS),
        pa.field("received_at", _UTC_MICROS, nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("wire_format", pa.string(), nullable=False),  # segment | posthog
        pa.field("context", pa.string()),  # JSON
        pa.field("properties", pa.string()),  # JSON: properties, or traits for identify/group
        pa.field("raw", pa.string(), nullable=False),  # the item as received, JSON
    ]
)

# Columns that identify a person; masked unless the caller holds `pii:read`.
ENVELOPE_PII = ("user_id", "anonymous_id", "context", "raw")

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("received_at", _UTC_MICROS, nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("wire_format", pa.string(), nullable=False),
        pa.field("batch_index", pa.int64()),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),
    ]
)
