/* ---
name: silver.bus_lag
materialized: append
time_column: observed_at
description: >-
  What waited on the bus between the collector and bronze, per product stream, each time the
  platform measured it (platform.gold.bus_lag). The embedded bus always holds nothing.
columns:
  observed_at: {type: timestamptz, description: When the platform measured the bus (one round measures every stream).}
  product: {type: varchar, description: The product accepting the stream.}
  stream: {type: varchar, description: "The bronze table the stream lands in, <product>.bronze.<table>."}
  bus: {type: varchar, description: "embedded, redis or kafka."}
  waiting_events: {type: bigint, description: "Events acknowledged by the collector and not yet in bronze (null: too many to count, or Kafka's brokers did not answer)."}
  oldest_waiting_seconds: {type: double, description: "How long the oldest of them had waited (0: nothing waited; null: Kafka's brokers did not answer)."}
--- */
select observed_at, product, stream, bus, waiting_events, oldest_waiting_seconds
from source('platform', 'gold.bus_lag')
