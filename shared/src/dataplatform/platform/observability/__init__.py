"""What Prometheus, Alertmanager and Grafana are given, generated from what the products declare
(their SLOs in their config, their owner, their prefix) so that nothing is written twice:
`dataplatform infra generate` writes `infrastructure/monitoring/`, and `--check` fails when
a declaration changed and the files were not generated again.

The burn-rate alerts' rates and windows are the SLO-evaluating product's (operational-metrics'
`BurnRateSettings`), so its own incidents and Prometheus' alerts agree.
"""

from typing import Any

from dataplatform.core.alerting import BurnRateSettings
from dataplatform.core.config import Environment
from dataplatform.core.errors import NotFoundError
from dataplatform.core.product import Product
from dataplatform.platform.generated_files import json_text, yaml_text
from dataplatform.platform.observability._configs import (
    RUNNER_METRICS_PORT,
    Targets,
    alertmanager_config,
    compose_targets,
    grafana_provisioning,
    prometheus_config,
)
from dataplatform.platform.observability._dashboards import platform_dashboard, product_dashboard
from dataplatform.platform.observability._rules import rule_groups, rule_tests
from dataplatform.platform.observability._slos import burn_windows

__all__ = [
    "RUNNER_METRICS_PORT",
    "Targets",
    "alertmanager_config",
    "burn_policy",
    "compose_targets",
    "generate",
    "prometheus_config",
    "rule_groups_of",
]

# Settings as production runs them: alerts page people there.
ENVIRONMENT: Environment = "prod"


def burn_policy(products: list[Product]) -> BurnRateSettings:
    """The burn-rate settings of the product that evaluates SLOs."""
    for product in products:
        if issubclass(product.settings_class, BurnRateSettings):
            settings = product.settings(ENVIRONMENT)
            assert isinstance(settings, BurnRateSettings)
            return settings
    raise NotFoundError(
        "No installed product declares the SLO burn-rate alerts (settings of BurnRateSettings); "
        "install operational-metrics."
    )


def rule_groups_of(product: Product, policy: BurnRateSettings) -> dict[str, Any]:
    """The product's rule groups, as its rule file and its PrometheusRule hold them."""
    return rule_groups(product, product.settings(ENVIRONMENT).slos, burn_windows(policy))


def generate(products: list[Product], targets: Targets | None = None) -> dict[str, str]:
    """Every file, by its path under infrastructure/monitoring/, and its text."""
    targets = targets or compose_targets(products)
    policy = burn_policy(products)
    windows = burn_windows(policy)
    files = {
        "prometheus/prometheus.yml": yaml_text(prometheus_config(products, targets)),
        "alertmanager/alertmanager.yml": yaml_text(alertmanager_config(products, targets)),
        "grafana/dashboards/platform.json": json_text(platform_dashboard()),
    }
    for name, provisioning in grafana_provisioning().items():
        files[f"grafana/provisioning/{name}"] = yaml_text(provisioning)
    for product in products:
        slos = product.settings(ENVIRONMENT).slos
        rules = f"{product.name}.rules.yml"
        files[f"prometheus/rules/{rules}"] = yaml_text(rule_groups_of(product, policy))
        files[f"prometheus/tests/{product.name}.test.yml"] = yaml_text(
            rule_tests(product, slos, windows, f"../rules/{rules}")
        )
        files[f"grafana/dashboards/{product.name}.json"] = json_text(
            product_dashboard(product, slos, windows)
        )
    return files
