"""The compliance-auditing product: audit trail, lineage, access reports, retention enforcement and right-to-erasure across every product."""

from pathlib import Path

from pydantic import Field

from compliance_auditing.ingestion import STREAMS
from compliance_auditing.monitoring import HEALTH_CHECKS
from compliance_auditing.serving import create_router
from compliance_auditing.storage import TABLES
from dataplatform.core.config import ProductSettings
from dataplatform.core.product import Product


class ComplianceAuditingSettings(ProductSettings):
    """Options of compliance-auditing, set in config/product_config.yaml."""

    erasure_deadline_days: int = Field(
        30, gt=0, description="Time allowed to complete an erasure request (GDPR: one month)."
    )
    audit_retention_days: int = Field(
        2555, gt=0, description="How long audit records are kept (seven years)."
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
    tables=TABLES,
    health_checks=HEALTH_CHECKS,
)
