"""The mobile-user-analytics product: app events from iOS and Android: sessions, 1-minute activity windows, DAU/WAU/MAU, retention, crashes by app version, per-user summaries."""

from pathlib import Path
from typing import Annotated

from pydantic import Field

from dataplatform.core.config import ProductSettings
from dataplatform.core.product import Product
from mobile_user_analytics.ingestion import STREAMS
from mobile_user_analytics.monitoring import HEALTH_CHECKS
from mobile_user_analytics.processing import models
from mobile_user_analytics.serving import create_router
from mobile_user_analytics.storage import TABLES


class MobileUserAnalyticsSettings(ProductSettings):
    """Options of mobile-user-analytics, set in config/product_config.yaml."""

    session_timeout_minutes: int = Field(
        30, gt=0, description="Inactivity that ends a session without an SDK session id."
    )
    dedup_window_days: int = Field(
        7, gt=0, description="How far back a repeated event_id counts as a duplicate."
    )
    retention_days: list[Annotated[int, Field(gt=0)]] = Field(
        [1, 7, 14, 30],
        min_length=1,
        description="N of the N-day retention /mobile/retention answers for each cohort.",
    )


product = Product(
    name="mobile-user-analytics",
    owner="mobile-analytics-team",
    prefix="/mobile",
    description="App events from iOS and Android: sessions, 1-minute activity windows, DAU/WAU/MAU, retention, crashes by app version, per-user summaries.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=MobileUserAnalyticsSettings,
    router=create_router,
    streams=STREAMS,
    tables=TABLES,
    health_checks=HEALTH_CHECKS,
    models=models,
)
