"""The operational-metrics product: volumes, lag, freshness, errors and latency of every product; SLO and SLA tracking; dashboard data."""

from pathlib import Path

from pydantic import Field

from dataplatform.core.config import ProductSettings
from dataplatform.core.product import Product
from operational_metrics.ingestion import STREAMS
from operational_metrics.monitoring import HEALTH_CHECKS
from operational_metrics.serving import create_router
from operational_metrics.storage import TABLES


class OperationalMetricsSettings(ProductSettings):
    """Options of operational-metrics, set in config/product_config.yaml."""

    collect_interval_seconds: int = Field(
        60, gt=0, description="How often product metrics are sampled."
    )
    error_budget_window_days: int = Field(
        30, gt=0, description="Window over which SLO error budgets are spent."
    )


product = Product(
    name="operational-metrics",
    owner="platform-sre-team",
    prefix="/ops",
    description="Volumes, lag, freshness, errors and latency of every product; SLO and SLA tracking; dashboard data.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=OperationalMetricsSettings,
    router=create_router,
    streams=STREAMS,
    tables=TABLES,
    health_checks=HEALTH_CHECKS,
)
