"""The platform on Kubernetes, generated from what the products declare: `infrastructure/k8s/`
holds a kustomize base (the gateway, the platform's jobs, per product its API, runners, config,
autoscaler, disruption budget and network policy, the Prometheus Operator's ServiceMonitors and
PrometheusRules) and the overlays `dev` (with PostgreSQL and Kafka in the cluster), `staging` and
`prod` (each with its environment's settings, taken from every product's environment file).

`dataplatform infra generate` writes it; `--check` fails when a declaration changed since.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from dataplatform.core.config import ENVIRONMENTS, Environment
from dataplatform.core.product import Product
from dataplatform.platform.generated_files import yaml_documents, yaml_text
from dataplatform.platform.kubernetes._stores import dev_stores
from dataplatform.platform.kubernetes._workloads import (
    ALL_INTERFACES,
    HTTP_PORT,
    METRICS_PORT,
    SECRET_KEYS,
    SECRETS,
    Workload,
    autoscaler,
    cron_job,
    deployment,
    disruption_budget,
    service,
)
from dataplatform.platform.observability import burn_policy, rule_groups_of

__all__ = ["HTTP_PORT", "METRICS_PORT", "generate"]

PLATFORM_TEAM = "platform-team"
# Daily, at an hour of little traffic; the platform's jobs copy erasures there meanwhile.
BACKUP_SCHEDULE = "17 3 * * *"
PLATFORM_IMAGE = "dataplatform-base"
METRICS_CREDENTIAL = "dataplatform-metrics"
_SCALE = {  # per environment: (API replicas, most API replicas)
    "dev": (1, 2),
    "staging": (2, 4),
    "prod": (3, 12),
}
_HOSTS = {
    "dev": "dataplatform.dev.example.com",
    "staging": "dataplatform.staging.example.com",
    "prod": "dataplatform.example.com",
}


def image_of(product: Product) -> str:
    return f"dataplatform-{product.name}"


def _runner(product: Product, component: str, command: list[str], memory: str) -> Workload:
    return Workload(
        name=f"{product.name}-{component}",
        component=component,
        image=image_of(product),
        command=[*command, "--metrics-port", str(METRICS_PORT), "--metrics-host", ALL_INTERFACES],
        port=METRICS_PORT,
        team=product.owner,
        product=product.name,
        memory=("512Mi", memory),
        config_maps=["dataplatform-env", f"{product.name}-env"],
        config_files={f"{product.name}-config": _config_path(product)},
    )


def _config_path(product: Product) -> str:
    return f"/app/products/{product.name}/config/product_config.yaml"


def product_workloads(product: Product) -> list[Workload]:
    """The product's API, then a runner for each kind of work it declares."""
    name = product.name
    workloads = [
        Workload(
            name=f"{name}-api",
            component="api",
            image=image_of(product),
            command=[
                "dataplatform",
                "serve",
                "--product",
                name,
                "--host",
                ALL_INTERFACES,
                "--port",
                str(HTTP_PORT),
            ],
            port=HTTP_PORT,
            team=product.owner,
            product=name,
            replicas=2,
            config_maps=["dataplatform-env", f"{name}-env"],
            config_files={f"{name}-config": _config_path(product)},
        )
    ]
    if product.model_list():
        command = ["dataplatform", "models", "run", "--product", name, "--continuous"]
        workloads.append(_runner(product, "models", command, "2Gi"))
    if product.streams:
        workloads.append(
            _runner(
                product, "ingestion", ["dataplatform", "ingest", "run", "--product", name], "1Gi"
            )
        )
    if product.jobs:
        workloads.append(
            _runner(product, "jobs", ["dataplatform", "jobs", "run", "--product", name], "1Gi")
        )
    return workloads


def platform_workloads() -> list[Workload]:
    return [
        Workload(
            name="gateway",
            component="gateway",
            image=PLATFORM_IMAGE,
            command=["dataplatform", "serve", "--host", ALL_INTERFACES, "--port", str(HTTP_PORT)],
            port=HTTP_PORT,
            team=PLATFORM_TEAM,
            cpu=("250m", "2"),
            memory=("512Mi", "2Gi"),
            replicas=2,
            config_maps=["dataplatform-env"],
        ),
        Workload(
            name="platform-jobs",
            component="jobs",
            image=PLATFORM_IMAGE,
            command=[
                "dataplatform",
                "jobs",
                "run",
                "--scrape-gateway",
                f"http://gateway:{HTTP_PORT}/metrics",
                "--metrics-port",
                str(METRICS_PORT),
                "--metrics-host",
                ALL_INTERFACES,
            ],
            port=METRICS_PORT,
            team=PLATFORM_TEAM,
            config_maps=["dataplatform-env"],
        ),
    ]


def _network_policy(name: str, selector: dict[str, str], from_ingress: bool) -> dict[str, Any]:
    """In: the ingress controller (APIs only), the gateway and Prometheus. Out: DNS, the store,
    the bus and object storage (HTTPS), nothing else."""
    sources: list[dict[str, Any]] = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}},
    ]
    if from_ingress:
        sources.append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        )
    peers = {"postgres": 5432, "kafka": 9092}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources}],
            "egress": [
                {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                *(
                    {
                        "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": peer}}}],
                        "ports": [{"port": port, "protocol": "TCP"}],
                    }
                    for peer, port in peers.items()
                ),
                {
                    "ports": [
                        {"port": 443, "protocol": "TCP"},
                        {"port": 5432, "protocol": "TCP"},
                        {"port": 9092, "protocol": "TCP"},
                    ]
                },
            ],
        },
    }


def _objects_of(workloads: list[Workload], most_api: int) -> list[dict[str, Any]]:
    objects = []
    for workload in workloads:
        objects += [deployment(workload), service(workload)]
        if workload.serves_api:
            objects += [autoscaler(workload, most_api), disruption_budget(workload)]
    return objects


def product_objects(product: Product) -> list[dict[str, Any]]:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{product.name}-config"},
        "data": {"product_config.yaml": (product.config_dir / "product_config.yaml").read_text()},
    }
    selector = {"dataplatform.io/product": product.name}
    policy = _network_policy(product.name, selector, from_ingress=True)
    return [config, *_objects_of(product_workloads(product), _SCALE["prod"][1]), policy]


def platform_objects(products: list[Product]) -> list[dict[str, Any]]:
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "dataplatform",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [_HOSTS["prod"]], "secretName": "dataplatform-tls"}],
            "rules": [
                {
                    "host": _HOSTS["prod"],
                    "http": {
                        "paths": [
                            *(_path(p.prefix, f"{p.name}-api") for p in products),
                            _path("/", "gateway"),
                        ]
                    },
                }
            ],
        },
    }
    gateway = _network_policy("gateway", {"app.kubernetes.io/name": "gateway"}, True)
    jobs = _network_policy("platform-jobs", {"app.kubernetes.io/name": "platform-jobs"}, False)
    backup = Workload(
        name="backup",
        component="backup",
        image=PLATFORM_IMAGE,
        # To the environment's DATAPLATFORM_BACKUP_LOCATION, each file once (docs/disaster-recovery.md).
        command=["dataplatform", "backup", "create"],
        port=METRICS_PORT,
        team=PLATFORM_TEAM,
        memory=("512Mi", "2Gi"),
        config_maps=["dataplatform-env"],
    )
    return [
        *_objects_of(platform_workloads(), _SCALE["prod"][1]),
        cron_job(backup, BACKUP_SCHEDULE),
        ingress,
        gateway,
        jobs,
    ]


def _path(prefix: str, service_name: str) -> dict[str, Any]:
    return {
        "path": prefix,
        "pathType": "Prefix",
        "backend": {"service": {"name": service_name, "port": {"number": HTTP_PORT}}},
    }


def monitoring_objects(products: list[Product]) -> list[dict[str, Any]]:
    """For the Prometheus Operator: what to scrape (with the metrics:read key) and the rules."""
    authorization = {"credentials": {"name": METRICS_CREDENTIAL, "key": "token"}}
    monitors = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchExpressions": [selector]},
                "endpoints": [
                    {
                        "port": port,
                        "path": "/metrics",
                        "interval": "15s",
                        "authorization": authorization,
                    }
                ],
            },
        }
        for name, port, selector in (
            (
                "dataplatform-apis",
                "http",
                {
                    "key": "app.kubernetes.io/component",
                    "operator": "In",
                    "values": ["api", "gateway"],
                },
            ),
            (
                "dataplatform-runners",
                "metrics",
                {
                    "key": "app.kubernetes.io/component",
                    "operator": "In",
                    "values": ["models", "ingestion", "jobs"],
                },
            ),
        )
    ]
    policy = burn_policy(products)
    rules = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": f"{product.name}-slos",
                "labels": {"dataplatform.io/product": product.name},
            },
            "spec": rule_groups_of(product, policy),
        }
        for product in products
    ]
    return [*monitors, *rules]


def environment_objects(products: list[Product], environment: Environment) -> list[dict[str, Any]]:
    """Each product's environment file as the ConfigMap its pods read, and the platform's."""
    platform = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "dataplatform-env"},
        "data": {
            "DATAPLATFORM_ENVIRONMENT": environment,
            "DATAPLATFORM_LOG_FORMAT": "json",
            "DATAPLATFORM_BUS": "kafka",
            "DATAPLATFORM_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
            "DATAPLATFORM_BACKUP_LOCATION": f"s3://dataplatform-backups/{environment}",
        },
    }
    products_env = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{product.name}-env"},
            "data": _env_file(product.env_file(environment)),
        }
        for product in products
    ]
    return [platform, *products_env]


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def secret_template() -> dict[str, Any]:
    """The secret every pod reads; its keys, never values (fill them in the cluster)."""
    keys = [*SECRET_KEYS.values(), "postgres-password"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRETS},
        "type": "Opaque",
        "stringData": dict.fromkeys(keys, ""),
    }


def _overlay(products: list[Product], environment: Environment) -> dict[str, Any]:
    replicas, most = _SCALE[environment]
    namespace = "dataplatform" if environment == "prod" else f"dataplatform-{environment}"
    apis = ["gateway", *(f"{p.name}-api" for p in products)]
    resources = ["../../base", "environment.yaml"]
    if environment == "dev":
        resources.append("stores.yaml")
    host = _HOSTS[environment]
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": resources,
        "labels": [{"pairs": {"dataplatform.io/environment": environment}}],
        "images": [
            {"name": name, "newTag": environment if environment == "dev" else "main"}
            for name in [PLATFORM_IMAGE, *(image_of(p) for p in products)]
        ],
        "patches": [
            *(
                {
                    "target": {"kind": kind, "name": name},
                    "patch": _json_patch(ops),
                }
                for name in apis
                for kind, ops in (
                    ("Deployment", [("replace", "/spec/replicas", replicas)]),
                    (
                        "HorizontalPodAutoscaler",
                        [
                            ("replace", "/spec/minReplicas", replicas),
                            ("replace", "/spec/maxReplicas", most),
                        ],
                    ),
                )
            ),
            {
                "target": {"kind": "Ingress", "name": "dataplatform"},
                "patch": _json_patch(
                    [
                        ("replace", "/spec/tls/0/hosts/0", host),
                        ("replace", "/spec/rules/0/host", host),
                    ]
                ),
            },
        ],
    }


def _json_patch(operations: Sequence[tuple[str, str, object]]) -> str:
    return str(
        yaml.safe_dump([{"op": op, "path": path, "value": value} for op, path, value in operations])
    )


def generate(products: list[Product]) -> dict[str, str]:
    """Every file, by its path under infrastructure/k8s/, and its text."""
    base = {
        "platform.yaml": platform_objects(products),
        "monitoring.yaml": monitoring_objects(products),
        **{f"products/{p.name}.yaml": product_objects(p) for p in products},
    }
    files = {f"base/{path}": yaml_documents(objects) for path, objects in base.items()}
    files["base/kustomization.yaml"] = yaml_text(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(base),
        }
    )
    files["secret.template.yaml"] = yaml_text(secret_template())
    for environment in ENVIRONMENTS:
        folder = f"overlays/{environment}"
        files[f"{folder}/kustomization.yaml"] = yaml_text(_overlay(products, environment))
        files[f"{folder}/environment.yaml"] = yaml_documents(
            environment_objects(products, environment)
        )
        if environment == "dev":
            files[f"{folder}/stores.yaml"] = yaml_documents(dev_stores())
    return files
