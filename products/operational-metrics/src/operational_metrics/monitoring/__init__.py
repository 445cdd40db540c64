"""How operational-metrics knows it is well: its health checks, which /ready shows.

Besides the platform's own (the lake is writable, the tables readable): whether the SLOs were
evaluated recently.
"""

from dataplatform.core.monitoring import lake_writable, tables_readable
from operational_metrics.monitoring.current import evaluations_current

HEALTH_CHECKS = (lake_writable, tables_readable, evaluations_current)
