"""How compliance-auditing knows it is well: its health checks."""

from dataplatform.core.monitoring import lake_writable, tables_readable

HEALTH_CHECKS = (lake_writable, tables_readable)
