"""`compose.yaml`: the whole platform on one host. PostgreSQL (the metadata store), Kafka in
KRaft mode (the bus), MinIO (the lake, on S3), Prometheus, Alertmanager and Grafana with the
generated files, the gateway, the platform's jobs, and per product its runners (models,
ingestion, jobs), each with a healthcheck; data on named volumes. `.env` beside it holds the
secrets (POSTGRES_PASSWORD, DATAPLATFORM_JWT_SECRET, S3_ACCESS_KEY, S3_SECRET_KEY) and
`secrets/metrics-token` the key Prometheus scrapes with (docs/deployment.md)."""

import json
from typing import Any

from dataplatform.core.product import Product

RUNNER_PORT = 9100
# Reached only on the compose network, under its service name.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
SCRATCH = "/tmp"  # noqa: S108  (a tmpfs: the root filesystem is read-only)
POSTGRES = "postgres:16.4-bookworm"
KAFKA = "apache/kafka:3.8.0"
MINIO = "minio/minio:RELEASE.2024-09-13T20-26-02Z"
PROMETHEUS = "prom/prometheus:v2.54.1"
ALERTMANAGER = "prom/alertmanager:v0.27.0"
GRAFANA = "grafana/grafana:11.2.0"

_PLATFORM_ENV = {
    "DATAPLATFORM_ENVIRONMENT": "prod",
    "DATAPLATFORM_LOG_FORMAT": "json",
    "DATAPLATFORM_DATABASE_URL": "postgresql+psycopg://dataplatform:${POSTGRES_PASSWORD:?set it in .env}"
    "@postgres:5432/dataplatform",
    "DATAPLATFORM_LAKE_ROOT": "s3://lake",
    "DATAPLATFORM_STORAGE_OPTIONS": json.dumps(
        {
            "AWS_ENDPOINT_URL": "http://minio:9000",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "${S3_ACCESS_KEY:?set it in .env}",
            "AWS_SECRET_ACCESS_KEY": "${S3_SECRET_KEY:?set it in .env}",
            "AWS_ALLOW_HTTP": "true",
        }
    ),
    "DATAPLATFORM_AUTH__JWT_SECRET": "${DATAPLATFORM_JWT_SECRET:?set it in .env}",
    "DATAPLATFORM_BUS": "kafka",
    "DATAPLATFORM_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
}


def _http_check(port: int) -> dict[str, Any]:
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/health')"
    return {
        "test": ["CMD", "python", "-c", probe],
        "interval": "10s",
        "timeout": "3s",
        "retries": 6,
        "start_period": "30s",
    }


def _ours(image: str, dockerfile: str, command: list[str], port: int) -> dict[str, Any]:
    return {
        "image": image,
        "build": {"context": ".", "dockerfile": dockerfile},
        "command": command,
        "environment": _PLATFORM_ENV,
        "depends_on": {
            "migrate": {"condition": "service_completed_successfully"},
            "kafka": {"condition": "service_healthy"},
            "minio": {"condition": "service_healthy"},
        },
        "healthcheck": _http_check(port),
        "restart": "unless-stopped",
        "read_only": True,
        "tmpfs": [SCRATCH],
    }


def _runner_command(product: Product, work: list[str]) -> list[str]:
    return [
        "dataplatform",
        *work,
        "--product",
        product.name,
        "--metrics-port",
        str(RUNNER_PORT),
        "--metrics-host",
        ALL_INTERFACES,
    ]


def compose(products: list[Product]) -> dict[str, Any]:
    base = "infrastructure/docker/base.Dockerfile"
    services: dict[str, Any] = {
        "postgres": {
            "image": POSTGRES,
            "environment": {
                "POSTGRES_USER": "dataplatform",
                "POSTGRES_DB": "dataplatform",
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set it in .env}",
            },
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {
                "test": ["CMD", "pg_isready", "-U", "dataplatform"],
                "interval": "5s",
                "retries": 12,
            },
            "restart": "unless-stopped",
        },
        "kafka": {
            "image": KAFKA,
            "environment": {
                "KAFKA_NODE_ID": "1",
                "KAFKA_PROCESS_ROLES": "broker,controller",
                "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
                "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092",
                "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
                "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
            },
            "volumes": ["kafka-data:/var/lib/kafka/data"],
            "healthcheck": {
                "test": [
                    "CMD",
                    "/opt/kafka/bin/kafka-broker-api-versions.sh",
                    "--bootstrap-server",
                    "localhost:9092",
                ],
                "interval": "10s",
                "retries": 12,
            },
            "restart": "unless-stopped",
        },
        "minio": {
            "image": MINIO,
            "command": ["server", "/data"],
            "environment": {
                "MINIO_ROOT_USER": "${S3_ACCESS_KEY:?set it in .env}",
                "MINIO_ROOT_PASSWORD": "${S3_SECRET_KEY:?set it in .env}",
            },
            "volumes": ["lake-data:/data"],
            "healthcheck": {
                "test": ["CMD", "mc", "ready", "local"],
                "interval": "5s",
                "retries": 12,
            },
            "restart": "unless-stopped",
        },
        "migrate": {
            "image": "dataplatform-base",
            "build": {"context": ".", "dockerfile": base},
            "command": ["dataplatform", "db", "upgrade"],
            "environment": _PLATFORM_ENV,
            "depends_on": {"postgres": {"condition": "service_healthy"}},
        },
        "gateway": _ours(
            "dataplatform-base",
            base,
            ["dataplatform", "serve", "--host", ALL_INTERFACES, "--port", "8000"],
            8000,
        )
        | {"ports": ["8000:8000"]},
        "platform-jobs": _ours(
            "dataplatform-base",
            base,
            [
                "dataplatform",
                "jobs",
                "run",
                "--scrape-gateway",
                "http://gateway:8000/metrics",
                "--metrics-port",
                str(RUNNER_PORT),
                "--metrics-host",
                ALL_INTERFACES,
            ],
            RUNNER_PORT,
        ),
    }
    for product in products:
        image, dockerfile = f"dataplatform-{product.name}", f"products/{product.name}/Dockerfile"
        work = []
        if product.model_list():
            work.append(("models", ["models", "run", "--continuous"]))
        if product.streams:
            work.append(("ingestion", ["ingest", "run"]))
        if product.jobs:
            work.append(("jobs", ["jobs", "run"]))
        for kind, command in work:
            services[f"{product.name}-{kind}"] = _ours(
                image, dockerfile, _runner_command(product, command), RUNNER_PORT
            )
    monitoring = "./infrastructure/monitoring"
    services |= {
        "prometheus": {
            "image": PROMETHEUS,
            "command": [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
            ],
            "volumes": [
                f"{monitoring}/prometheus:/etc/prometheus:ro",
                "prometheus-data:/prometheus",
            ],
            "secrets": [
                {"source": "metrics-token", "target": "/etc/prometheus/secrets/metrics-token"}
            ],
            "healthcheck": {
                "test": ["CMD", "wget", "-qO-", "http://127.0.0.1:9090/-/ready"],
                "interval": "10s",
                "retries": 6,
            },
            "ports": ["9090:9090"],
            "restart": "unless-stopped",
        },
        "alertmanager": {
            "image": ALERTMANAGER,
            "command": [
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
            ],
            "volumes": [
                f"{monitoring}/alertmanager:/etc/alertmanager:ro",
                "alertmanager-data:/alertmanager",
            ],
            "healthcheck": {
                "test": ["CMD", "wget", "-qO-", "http://127.0.0.1:9093/-/ready"],
                "interval": "10s",
                "retries": 6,
            },
            "restart": "unless-stopped",
        },
        "grafana": {
            "image": GRAFANA,
            "volumes": [
                f"{monitoring}/grafana/provisioning/datasources.yml:/etc/grafana/provisioning/datasources/dataplatform.yml:ro",
                f"{monitoring}/grafana/provisioning/dashboards.yml:/etc/grafana/provisioning/dashboards/dataplatform.yml:ro",
                f"{monitoring}/grafana/dashboards:/var/lib/grafana/dashboards:ro",
                "grafana-data:/var/lib/grafana",
            ],
            "healthcheck": {
                "test": ["CMD", "wget", "-qO-", "http://127.0.0.1:3000/api/health"],
                "interval": "10s",
                "retries": 6,
            },
            "ports": ["3000:3000"],
            "restart": "unless-stopped",
        },
    }
    volumes = [
        "postgres-data",
        "kafka-data",
        "lake-data",
        "prometheus-data",
        "alertmanager-data",
        "grafana-data",
    ]
    return {
        "name": "dataplatform",
        "services": services,
        "volumes": {volume: {} for volume in volumes},
        "secrets": {"metrics-token": {"file": "./secrets/metrics-token"}},
    }
