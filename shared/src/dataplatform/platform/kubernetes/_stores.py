"""What `dev` runs in the cluster itself: PostgreSQL (the metadata store) and a one-node Kafka in
KRaft mode (the bus), each a StatefulSet with its volume, limits, probes and a non-root user.
Staging and prod use managed ones, named in the secret."""

from typing import Any

from dataplatform.platform.kubernetes._workloads import SCRATCH

# Pinned by tag here; record the digest your registry resolves (`crane digest`) when promoting.
POSTGRES_IMAGE = "postgres:16.4-bookworm"
KAFKA_IMAGE = "apache/kafka:3.8.0"


def _stateful(
    name: str,
    image: str,
    user: int,
    port: int,
    probe: dict[str, Any],
    env: list[dict[str, Any]],
    data_path: str,
    writable: list[str],
) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "dataplatform"}
    container = {
        "name": name,
        "image": image,
        "ports": [{"name": name, "containerPort": port}],
        "env": env,
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "readinessProbe": probe | {"periodSeconds": 10},
        "livenessProbe": probe | {"periodSeconds": 20, "failureThreshold": 6},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "data", "mountPath": data_path},
            *({"name": f"scratch-{i}", "mountPath": path} for i, path in enumerate(writable)),
        ],
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": user,
                            "runAsGroup": user,
                            "fsGroup": user,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": f"scratch-{i}", "emptyDir": {}} for i in range(len(writable))
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "clusterIP": "None",
                "selector": {"app.kubernetes.io/name": name},
                "ports": [{"name": name, "port": port, "targetPort": name}],
            },
        },
    ]


def dev_stores() -> list[dict[str, Any]]:
    postgres = _stateful(
        "postgres",
        POSTGRES_IMAGE,
        999,
        5432,
        {"exec": {"command": ["pg_isready", "-U", "dataplatform", "-h", "127.0.0.1"]}},
        [
            {"name": "POSTGRES_USER", "value": "dataplatform"},
            {"name": "POSTGRES_DB", "value": "dataplatform"},
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {
                    "secretKeyRef": {"name": "dataplatform-secrets", "key": "postgres-password"}
                },
            },
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "/var/lib/postgresql/data",
        ["/var/run/postgresql"],
    )
    kafka = _stateful(
        "kafka",
        KAFKA_IMAGE,
        1000,
        9092,
        {"tcpSocket": {"port": 9092}},
        [
            {"name": "KAFKA_NODE_ID", "value": "1"},
            {"name": "KAFKA_PROCESS_ROLES", "value": "broker,controller"},
            {"name": "KAFKA_LISTENERS", "value": "PLAINTEXT://:9092,CONTROLLER://:9093"},
            {"name": "KAFKA_ADVERTISED_LISTENERS", "value": "PLAINTEXT://kafka:9092"},
            {"name": "KAFKA_CONTROLLER_LISTENER_NAMES", "value": "CONTROLLER"},
            {"name": "KAFKA_CONTROLLER_QUORUM_VOTERS", "value": "1@localhost:9093"},
            {"name": "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "value": "1"},
            {"name": "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "value": "1"},
            {"name": "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "value": "1"},
            {"name": "KAFKA_LOG_DIRS", "value": "/var/lib/kafka/data"},
        ],
        "/var/lib/kafka/data",
        [SCRATCH],
    )
    return [*postgres, *kafka]
