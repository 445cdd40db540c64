"""The operational-metrics product: volumes, lag, freshness, errors and latency of every product;
SLO and SLA tracking; dashboard data."""

from pathlib import Path

from dataplatform.core.product import Product
from operational_metrics.alerts import DELIVER_ALERTS
from operational_metrics.console import console_pages
from operational_metrics.ingestion import STREAMS
from operational_metrics.monitoring import HEALTH_CHECKS
from operational_metrics.processing import models
from operational_metrics.serving import create_router
from operational_metrics.settings import OperationalMetricsSettings
from operational_metrics.storage import TABLES

product = Product(
    name="operational-metrics",
    owner="platform-sre-team",
    prefix="/ops",
    description="Volumes, lag, freshness, errors and latency of every product; SLO and SLA tracking; dashboard data.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=OperationalMetricsSettings,
    router=create_router,
    console=console_pages,
    streams=STREAMS,
    storage_tables=TABLES,
    health_checks=HEALTH_CHECKS,
    models=models,
    jobs=(DELIVER_ALERTS,),
)
