"""The options of operational-metrics (config/product_config.yaml, environment, admin API)."""

from dataplatform.core.alerting import BurnRateSettings


class OperationalMetricsSettings(BurnRateSettings):
    """Options of operational-metrics, set in config/product_config.yaml: its burn-rate alerts'
    rates and windows (which the generated Prometheus rules follow too) and its webhooks."""
