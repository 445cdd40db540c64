"""How mobile-user-analytics knows it is well: its health checks, which /ready shows.

Besides the platform's own (the lake is writable, the tables readable): how far gold is behind
bronze, how far each table is behind its inputs, and the share of events quarantined.
"""

from dataplatform.core.monitoring import lake_writable, tables_readable
from mobile_user_analytics.monitoring.lag import bronze_to_gold_lag, table_freshness
from mobile_user_analytics.monitoring.quarantine import quarantine_rate

HEALTH_CHECKS = (
    lake_writable,
    tables_readable,
    bronze_to_gold_lag,
    table_freshness,
    quarantine_rate,
)
