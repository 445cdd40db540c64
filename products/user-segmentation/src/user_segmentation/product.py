"""The user-segmentation product: one person across mobile and web (identity stitching),
behavioural features, rule-based and ML segments."""

from pathlib import Path

from dataplatform.core.product import Product
from user_segmentation.console import console_pages
from user_segmentation.ingestion import STREAMS
from user_segmentation.ml import TRAIN_SEGMENTS
from user_segmentation.monitoring import HEALTH_CHECKS
from user_segmentation.processing import models
from user_segmentation.serving import create_router
from user_segmentation.settings import UserSegmentationSettings
from user_segmentation.storage import MODEL_RETENTION_DAYS, TABLES

product = Product(
    name="user-segmentation",
    owner="growth-team",
    prefix="/segments",
    description="One person across mobile and web (identity stitching), behavioural features, "
    "rule-based and ML segments.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=UserSegmentationSettings,
    router=create_router,
    console=console_pages,
    streams=STREAMS,
    storage_tables=TABLES,
    model_retention_days=MODEL_RETENTION_DAYS,
    health_checks=HEALTH_CHECKS,
    models=models,
    jobs=(TRAIN_SEGMENTS,),
)
