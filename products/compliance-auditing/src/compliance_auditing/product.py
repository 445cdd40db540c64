"""The compliance-auditing product: audit trail, lineage, access reports, retention enforcement
and right-to-erasure across every product."""

from pathlib import Path

from pydantic import Field

from compliance_auditing.ingestion import STREAMS
from compliance_auditing.monitoring import HEALTH_CHECKS
from compliance_auditing.processing import models
from compliance_auditing.retention import enforce_retention
from compliance_auditing.serving import create_router
from compliance_auditing.storage import MODEL_RETENTION_DAYS, TABLES
from dataplatform.core.config import ProductSettings
from dataplatform.core.product import Product


class ComplianceAuditingSettings(ProductSettings):
    """Options of compliance-auditing, set in config/product_config.yaml."""

    erasure_deadline_days: int = Field(
        30, gt=0, description="Time allowed to complete an erasure request (GDPR: one month)."
    )
    retention_every_seconds: int = Field(
        3600, gt=0, description="Interval of the `enforce_retention` job."
    )
    access_baseline_days: int = Field(
        28, gt=0, description="Days before a day that make a user's own baseline of rows read."
    )
    access_anomaly_factor: float = Field(
        10.0, gt=1, description="Rows read in a day at this many times the baseline are flagged."
    )
    access_min_history_days: int = Field(
        7, gt=0, description="Days of history a user needs before a day can be judged anomalous."
    )
    dormant_key_days: int = Field(
        30, gt=0, description="An API key used after this many idle days is flagged."
    )


product = Product(
    name="compliance-auditing",
    owner="data-governance-team",
    prefix="/compliance",
    description="Audit trail, lineage, access reports, retention enforcement and right-to-erasure across every product.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=ComplianceAuditingSettings,
    router=create_router,
    streams=STREAMS,
    storage_tables=TABLES,
    model_retention_days=MODEL_RETENTION_DAYS,
    health_checks=HEALTH_CHECKS,
    models=models,
    jobs=(enforce_retention,),
)
