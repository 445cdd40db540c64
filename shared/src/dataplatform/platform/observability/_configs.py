"""Prometheus' scrape configuration, Alertmanager's routes (one receiver per product team) and
Grafana's provisioning, for the stack `compose.yaml` runs (service names as hosts)."""

from dataclasses import dataclass, field
from typing import Any

from dataplatform.core.product import Product

RUNNER_METRICS_PORT = 9100
# Where Prometheus finds the credential of a user holding `metrics:read` (a mounted secret).
CREDENTIAL_PATH = "/etc/prometheus/secrets/metrics-token"


@dataclass(frozen=True)
class Targets:
    """Where the services listen, as Prometheus and Alertmanager reach them."""

    gateway: str
    runners: dict[str, str]  # product -> its model runner's metrics address
    alertmanager: str
    credential_file: str
    # Each team's receiver: Alertmanager POSTs its alerts to `{webhook_base}/{team}`.
    webhook_base: str
    rule_files: list[str] = field(default_factory=lambda: ["rules/*.rules.yml"])


def compose_targets(products: list[Product]) -> Targets:
    """The hosts of compose.yaml's services."""
    return Targets(
        gateway="gateway:8000",
        runners={p.name: f"{p.name}-models:{RUNNER_METRICS_PORT}" for p in products},
        alertmanager="alertmanager:9093",
        credential_file=CREDENTIAL_PATH,
        webhook_base="http://alert-receiver:9095/teams",
    )


def prometheus_config(products: list[Product], targets: Targets) -> dict[str, Any]:
    authorization = {"type": "Bearer", "credentials_file": targets.credential_file}
    runners = [
        {
            "targets": [targets.runners[p.name]],
            "labels": {"product": p.name, "team": p.owner},
        }
        for p in products
        if p.name in targets.runners
    ]
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "30s"},
        "rule_files": targets.rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [targets.alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": "gateway",
                "metrics_path": "/metrics",
                "authorization": authorization,
                "static_configs": [{"targets": [targets.gateway]}],
            },
            {
                "job_name": "model-runners",
                "metrics_path": "/metrics",
                "authorization": authorization,
                "static_configs": runners,
            },
        ],
    }


def alertmanager_config(products: list[Product], targets: Targets) -> dict[str, Any]:
    """Alerts grouped per product and SLO, routed by the product's owning team; a page repeats
    every hour, a ticket every 12."""
    teams = sorted({product.owner for product in products})
    return {
        "route": {
            "receiver": "platform",
            "group_by": ["alertname", "product", "slo"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                {
                    "receiver": team,
                    "matchers": [f'team="{team}"'],
                    "routes": [{"matchers": ['severity="page"'], "repeat_interval": "1h"}],
                }
                for team in teams
            ],
        },
        "receivers": [
            {"name": name, "webhook_configs": [{"url": f"{targets.webhook_base}/{name}"}]}
            for name in ["platform", *teams]
        ],
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="SLOFastBurn"'],
                "target_matchers": ['alertname="SLOSlowBurn"'],
                "equal": ["product", "slo"],
            }
        ],
    }


def grafana_provisioning() -> dict[str, dict[str, Any]]:
    return {
        "datasources.yml": {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "uid": "prometheus",
                    "type": "prometheus",
                    "access": "proxy",
                    "url": "http://prometheus:9090",
                    "isDefault": True,
                }
            ],
        },
        "dashboards.yml": {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "dataplatform",
                    "folder": "Data Platform",
                    "type": "file",
                    "options": {"path": "/var/lib/grafana/dashboards"},
                }
            ],
        },
    }
