"""The user-segmentation product: one person across mobile and web (identity stitching), behavioural features, rule-based and ML segments."""

from pathlib import Path

from pydantic import Field

from dataplatform.core.config import ProductSettings
from dataplatform.core.product import Product
from user_segmentation.ingestion import STREAMS
from user_segmentation.monitoring import HEALTH_CHECKS
from user_segmentation.serving import create_router
from user_segmentation.storage import TABLES


class UserSegmentationSettings(ProductSettings):
    """Options of user-segmentation, set in config/product_config.yaml."""

    feature_window_days: int = Field(
        30, gt=0, description="Days of behaviour that features summarise."
    )
    cluster_count: int = Field(5, ge=2, le=50, description="Number of ML (k-means) segments.")


product = Product(
    name="user-segmentation",
    owner="growth-team",
    prefix="/segments",
    description="One person across mobile and web (identity stitching), behavioural features, rule-based and ML segments.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=UserSegmentationSettings,
    router=create_router,
    streams=STREAMS,
    tables=TABLES,
    health_checks=HEALTH_CHECKS,
)
