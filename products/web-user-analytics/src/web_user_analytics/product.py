"""The web-user-analytics product: clickstream from the website: sessionisation, pages, traffic sources, funnels, devices, realtime visitors."""

from pathlib import Path

from dataplatform.core.product import Product
from web_user_analytics.console import console_pages
from web_user_analytics.ingestion import STREAMS
from web_user_analytics.monitoring import HEALTH_CHECKS
from web_user_analytics.processing import models
from web_user_analytics.serving import create_router
from web_user_analytics.serving.insights import TREND_ALERTS
from web_user_analytics.settings import WebUserAnalyticsSettings
from web_user_analytics.storage import MODEL_RETENTION_DAYS, TABLES

product = Product(
    name="web-user-analytics",
    owner="web-analytics-team",
    prefix="/web",
    description="Clickstream from the website: sessionisation, pages, traffic sources, funnels, devices, realtime visitors.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=WebUserAnalyticsSettings,
    router=create_router,
    streams=STREAMS,
    storage_tables=TABLES,
    model_retention_days=MODEL_RETENTION_DAYS,
    health_checks=HEALTH_CHECKS,
    models=models,
    console=console_pages,
    jobs=(TREND_ALERTS,),
)
