"""The Kubernetes objects of one workload: a Deployment whose pods run as a non-root user on a
read-only root filesystem, with limits, probes and topology spread, and what serves, scales and
protects it (Service, HorizontalPodAutoscaler, PodDisruptionBudget)."""

from dataclasses import dataclass, field
from typing import Any

PART_OF = "dataplatform"
USER_ID = 10001  # the image's `dataplatform` user (infrastructure/docker/base.Dockerfile)
HTTP_PORT = 8000
METRICS_PORT = 9100
SECRETS = "dataplatform-secrets"
# A pod listens on every interface: it is reached through its Service, under its network policy.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
# The one writable folder of a read-only root filesystem, an emptyDir of the pod's own.
SCRATCH = "/tmp"  # noqa: S108
# Every pod reads the store and the lake from the secret; nothing else it needs is secret.
SECRET_KEYS = {
    "DATAPLATFORM_DATABASE_URL": "database-url",
    "DATAPLATFORM_LAKE_ROOT": "lake-root",
    "DATAPLATFORM_AUTH__JWT_SECRET": "jwt-secret",
}


@dataclass(frozen=True)
class Workload:
    """One Deployment: `name`'s pods run `command` from `image`."""

    name: str
    component: str  # api, gateway, models, ingestion, jobs
    image: str
    command: list[str]
    port: int  # where /health (and /ready for an API) answer
    team: str
    product: str | None = None
    cpu: tuple[str, str] = ("100m", "1")  # request, limit
    memory: tuple[str, str] = ("256Mi", "1Gi")
    replicas: int = 1
    config_maps: list[str] = field(default_factory=list)  # mounted as environment
    config_files: dict[str, str] = field(default_factory=dict)  # ConfigMap -> file path

    @property
    def labels(self) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/component": self.component,
            "app.kubernetes.io/part-of": PART_OF,
            "dataplatform.io/team": self.team,
        }
        if self.product:
            labels["dataplatform.io/product"] = self.product
        return labels

    @property
    def serves_api(self) -> bool:
        return self.component in ("api", "gateway")


def deployment(workload: Workload) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": workload.name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": workload.name, "labels": workload.labels},
        "spec": {
            "replicas": workload.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": workload.labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": USER_ID,
                        "runAsGroup": USER_ID,
                        "fsGroup": USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": key,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                    ],
                    "containers": [_container(workload)],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {}},
                        *(
                            {"name": name, "configMap": {"name": name}}
                            for name in workload.config_files
                        ),
                    ],
                },
            },
        },
    }


def _container(workload: Workload) -> dict[str, Any]:
    probe_port = workload.port

    def probe(path: str, period: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": probe_port},
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        }

    return {
        "name": workload.component,
        "image": workload.image,
        "command": workload.command,
        "ports": [
            {"name": "http" if workload.serves_api else "metrics", "containerPort": probe_port}
        ],
        "env": [
            {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": key}}}
            for name, key in SECRET_KEYS.items()
        ],
        "envFrom": [{"configMapRef": {"name": name}} for name in workload.config_maps],
        "resources": {
            "requests": {"cpu": workload.cpu[0], "memory": workload.memory[0]},
            "limits": {"cpu": workload.cpu[1], "memory": workload.memory[1]},
        },
        "startupProbe": probe("/health", 5) | {"failureThreshold": 24},
        "livenessProbe": probe("/health", 10),
        "readinessProbe": probe("/ready" if workload.serves_api else "/health", 10),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": SCRATCH},
            *(
                {
                    "name": name,
                    "mountPath": path,
                    "subPath": path.rsplit("/", 1)[1],
                    "readOnly": True,
                }
                for name, path in workload.config_files.items()
            ),
        ],
    }


def cron_job(workload: Workload, schedule: str) -> dict[str, Any]:
    """`workload`'s pod on a schedule: one at a time, retried twice, its last runs kept."""
    template = deployment(workload)["spec"]["template"]
    pod = template["spec"]
    pod["restartPolicy"] = "OnFailure"
    del pod["topologySpreadConstraints"]
    for container in pod["containers"]:
        for key in ("ports", "startupProbe", "livenessProbe", "readinessProbe"):
            container.pop(key)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": workload.name, "labels": workload.labels},
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}},
        },
    }


def service(workload: Workload) -> dict[str, Any]:
    port_name = "http" if workload.serves_api else "metrics"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": workload.name, "labels": workload.labels},
        "spec": {
            "selector": {"app.kubernetes.io/name": workload.name},
            "ports": [{"name": port_name, "port": workload.port, "targetPort": port_name}],
        },
    }


def autoscaler(workload: Workload, most: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": workload.name, "labels": workload.labels},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
            "minReplicas": workload.replicas,
            "maxReplicas": most,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def disruption_budget(workload: Workload) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": workload.name, "labels": workload.labels},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": workload.name}},
        },
    }
