"""The options of compliance-auditing (config/product_config.yaml, environment, admin API)."""

from typing import Annotated

from pydantic import Field

from dataplatform.core.config import ProductSettings

# A count of days or seconds: none of the options makes sense at zero.
Positive = Annotated[int, Field(gt=0)]


class ComplianceAuditingSettings(ProductSettings):
    """Options of compliance-auditing, set in config/product_config.yaml."""

    erasure_deadline_days: Positive = Field(
        30, description="Time allowed to complete an erasure request (GDPR: one month)."
    )
    retention_every_seconds: Positive = Field(
        3600, description="Interval of the `enforce_retention` job."
    )
    access_baseline_days: Positive = Field(
        28, description="Days before a day that make a user's own baseline of rows read."
    )
    access_anomaly_factor: float = Field(
        10.0, gt=1, description="Rows read in a day at this many times the baseline are flagged."
    )
    access_min_history_days: Positive = Field(
        7, description="Days of history a user needs before a day can be judged anomalous."
    )
    dormant_key_days: Positive = Field(
        30, description="An API key used after this many idle days is flagged."
    )
