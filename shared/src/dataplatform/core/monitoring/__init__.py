"""Health checks: small functions a product declares, run by probes and the operational metrics."""

from dataplatform.core.monitoring._health import (
    HealthCheck,
    HealthContext,
    HealthResult,
    HealthStatus,
    lake_writable,
    run_checks,
    tables_readable,
)

__all__ = [
    "HealthCheck",
    "HealthContext",
    "HealthResult",
    "HealthStatus",
    "lake_writable",
    "run_checks",
    "tables_readable",
]
