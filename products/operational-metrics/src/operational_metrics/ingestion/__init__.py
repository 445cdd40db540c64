"""What operational-metrics accepts: its event streams."""

STREAMS = ()  # samples the platform's run records and the products' tables; accepts no events
