"""The SHARED layer every product builds on.

Light, dependency-free pieces are re-exported here; the lakehouse (`core.connectors.lakehouse`),
the metadata store (`core.connectors.db`), the query engine (`core.engine`) and the product
declaration (`core.product`) are imported from their modules, so importing `core` stays fast.
"""

from dataplatform.core.config import SLO, PlatformSettings, ProductSettings, load_settings
from dataplatform.core.decorators import log_execution, measure_performance, retry
from dataplatform.core.errors import (
    CommitConflictError,
    ConfigError,
    InvalidNameError,
    NotFoundError,
    PlatformError,
    RetryableError,
    SchemaMismatchError,
    StoreUnavailableError,
    TerminalError,
)
from dataplatform.core.logging import configure_logging, log_context

__all__ = [
    "SLO",
    "CommitConflictError",
    "ConfigError",
    "InvalidNameError",
    "NotFoundError",
    "PlatformError",
    "PlatformSettings",
    "ProductSettings",
    "RetryableError",
    "SchemaMismatchError",
    "StoreUnavailableError",
    "TerminalError",
    "configure_logging",
    "load_settings",
    "log_context",
    "log_execution",
    "measure_performance",
    "retry",
]
