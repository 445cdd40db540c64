"""The mobile-user-analytics product: app events from iOS and Android: sessions, 1-minute activity windows, DAU/WAU/MAU, retention, crashes by app version, per-user summaries."""

from pathlib import Path

from dataplatform.core.product import Product
from mobile_user_analytics.console import console_pages
from mobile_user_analytics.ingestion import STREAMS
from mobile_user_analytics.monitoring import HEALTH_CHECKS
from mobile_user_analytics.processing import models
from mobile_user_analytics.serving import create_router
from mobile_user_analytics.serving.insights import TREND_ALERTS
from mobile_user_analytics.settings import MobileUserAnalyticsSettings
from mobile_user_analytics.storage import MODEL_RETENTION_DAYS, TABLES

product = Product(
    name="mobile-user-analytics",
    owner="mobile-analytics-team",
    prefix="/mobile",
    description="App events from iOS and Android: sessions, 1-minute activity windows, DAU/WAU/MAU, retention, crashes by app version, per-user summaries.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=MobileUserAnalyticsSettings,
    router=create_router,
    streams=STREAMS,
    storage_tables=TABLES,
    model_retention_days=MODEL_RETENTION_DAYS,
    health_checks=HEALTH_CHECKS,
    models=models,
    console=console_pages,
    jobs=(TREND_ALERTS,),
)
