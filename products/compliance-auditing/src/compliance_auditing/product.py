"""The compliance-auditing product: audit trail, lineage, access reports, retention enforcement
and right-to-erasure across every product."""

from pathlib import Path

from compliance_auditing.console import console_pages
from compliance_auditing.ingestion import STREAMS
from compliance_auditing.monitoring import HEALTH_CHECKS
from compliance_auditing.processing import models
from compliance_auditing.retention import enforce_retention
from compliance_auditing.serving import create_router
from compliance_auditing.settings import ComplianceAuditingSettings
from compliance_auditing.storage import MODEL_RETENTION_DAYS, TABLES
from dataplatform.core.product import Product

product = Product(
    name="compliance-auditing",
    owner="data-governance-team",
    prefix="/compliance",
    description="Audit trail, lineage, access reports, retention enforcement and right-to-erasure across every product.",
    config_dir=Path(__file__).resolve().parents[2] / "config",
    settings_class=ComplianceAuditingSettings,
    router=create_router,
    console=console_pages,
    streams=STREAMS,
    storage_tables=TABLES,
    model_retention_days=MODEL_RETENTION_DAYS,
    health_checks=HEALTH_CHECKS,
    models=models,
    jobs=(enforce_retention,),
)
