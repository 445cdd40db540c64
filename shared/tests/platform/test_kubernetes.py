"""The Kubernetes files: generated from the products' declarations, rendered by the real
`kubectl kustomize` for every overlay, valid against the Kubernetes API's schemas (offline, with
kubernetes-validate, strict), and every workload passes the platform's policy: limits, probes,
a non-root user, a read-only root filesystem for the platform's own images."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataplatform.core.product import discover_products
from dataplatform.platform import kubernetes
from dataplatform.platform.generated_files import stale_files
from dataplatform.platform.observability import burn_policy, rule_groups_of
from dataplatform.testing import installed

K8S = Path(__file__).parents[3] / "infrastructure" / "k8s"
KUBERNETES_VERSION = "1.32.0"
PRODUCTS = discover_products()
# Custom resources of the Prometheus Operator: no schema ships for them; checked here instead.
# A dev requirement (pinned), beside this interpreter.
VALIDATOR = str(Path(sys.executable).with_name("kubernetes-validate"))
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
WORKLOADS = {"Deployment", "StatefulSet"}
SCHEDULED = {"CronJob"}  # runs to completion: no probes


def render(overlay: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [installed("kubectl"), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(K8S / "overlays" / request.param)


def validate(objects: list[dict[str, Any]], folder: Path) -> subprocess.CompletedProcess[str]:
    path = folder / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return subprocess.run(
        [VALIDATOR, "--strict", "-k", KUBERNETES_VERSION, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_committed_files_are_what_the_declarations_generate() -> None:
    assert stale_files(K8S, kubernetes.generate(PRODUCTS)) == [], (
        "run `dataplatform infra generate`"
    )


def test_kubectl_renders_each_overlay_into_its_namespace(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    environment, objects = rendered
    namespace = "dataplatform" if environment == "prod" else f"dataplatform-{environment}"
    assert {o["metadata"].get("namespace") for o in objects} == {namespace}
    kinds = {o["kind"] for o in objects}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
        "ConfigMap",
    } | CUSTOM_KINDS <= kinds
    stateful = {o["metadata"]["name"] for o in objects if o["kind"] == "StatefulSet"}
    assert stateful == ({"postgres", "kafka"} if environment == "dev" else set())
    (backup,) = [o for o in objects if o["kind"] == "CronJob"]
    container = backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["dataplatform", "backup", "create"]
    assert not [o for o in objects if o["kind"] == "Secret"]  # templates only, never a value


def test_every_object_is_valid_against_the_kubernetes_schemas(
    rendered: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    _, objects = rendered
    done = validate(objects, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    unchecked = {
        line.split(" kind ")[1].split()[0]
        for line in done.stdout.splitlines()
        if "Couldn't find schema" in line
    }
    assert unchecked == CUSTOM_KINDS, done.stdout


def test_the_validator_refuses_an_unknown_field(tmp_path: Path) -> None:
    objects = render(K8S / "overlays" / "prod")
    broken = next(o for o in objects if o["kind"] == "Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {"limits": {}}
    done = validate([broken], tmp_path)
    assert done.returncode != 0 and "resource" in done.stdout + done.stderr


def policy_violations(objects: list[dict[str, Any]]) -> list[str]:
    """What a workload misses: limits, liveness and readiness probes, a non-root user."""
    found = []
    for workload in (o for o in objects if o["kind"] in WORKLOADS | SCHEDULED):
        spec = workload["spec"]
        pod = (spec["jobTemplate"]["spec"] if workload["kind"] in SCHEDULED else spec)["template"][
            "spec"
        ]
        pod_security = pod.get("securityContext", {})
        for container in pod["containers"]:
            where = f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}"
            limits = container.get("resources", {}).get("limits", {})
            security = pod_security | container.get("securityContext", {})
            if not {"cpu", "memory"} <= set(limits):
                found.append(f"{where}: no cpu and memory limits")
            for probe in ("livenessProbe", "readinessProbe"):
                if workload["kind"] in WORKLOADS and probe not in container:
                    found.append(f"{where}: no {probe}")
            if security.get("runAsNonRoot") is not True or not security.get("runAsUser"):
                found.append(f"{where}: may run as root")
            if security.get("allowPrivilegeEscalation") is not False:
                found.append(f"{where}: may escalate privileges")
    return found


def test_every_container_has_limits_probes_and_a_non_root_user(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = rendered
    assert policy_violations(objects) == []
    own = [
        c
        for o in objects
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    ]
    assert own and all(c["securityContext"]["readOnlyRootFilesystem"] for c in own)


def test_the_policy_names_what_a_container_misses() -> None:
    objects = render(K8S / "overlays" / "prod")
    deployment = next(
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "web-user-analytics-api"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    del container["resources"]["limits"]
    del container["readinessProbe"]
    deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False
    assert policy_violations([deployment]) == [
        "Deployment/web-user-analytics-api/api: no cpu and memory limits",
        "Deployment/web-user-analytics-api/api: no readinessProbe",
        "Deployment/web-user-analytics-api/api: may run as root",
    ]


def test_each_product_deploys_alone_with_its_config_scaling_and_policy() -> None:
    objects = render(K8S / "overlays" / "prod")
    named = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for product in PRODUCTS:
        api = f"{product.name}-api"
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert (kind, api) in named, (kind, api)
        config = named[("ConfigMap", f"{product.name}-config")]["data"]["product_config.yaml"]
        assert config == (product.config_dir / "product_config.yaml").read_text()
        env = named[("ConfigMap", f"{product.name}-env")]["data"]
        assert env["DATAPLATFORM_LOG_FORMAT"] == "json"  # from its prod.env
        policy = named[("NetworkPolicy", product.name)]["spec"]
        assert policy["podSelector"] == {"matchLabels": {"dataplatform.io/product": product.name}}
        if product.model_list():
            runner = named[("Deployment", f"{product.name}-models")]
            command = runner["spec"]["template"]["spec"]["containers"][0]["command"]
            assert command[1:4] == ["models", "run", "--product"] and "--metrics-port" in command
        paths = named[("Ingress", "dataplatform")]["spec"]["rules"][0]["http"]["paths"]
        assert {
            "path": product.prefix,
            "pathType": "Prefix",
            "backend": {"service": {"name": api, "port": {"number": 8000}}},
        } in paths


def test_the_prometheus_operator_objects_scrape_real_ports_and_carry_the_generated_rules() -> None:
    objects = render(K8S / "overlays" / "prod")
    services = [o for o in objects if o["kind"] == "Service"]
    for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
        (expression,) = monitor["spec"]["selector"]["matchExpressions"]
        (endpoint,) = monitor["spec"]["endpoints"]
        chosen = [
            s
            for s in services
            if s["metadata"]["labels"].get(expression["key"]) in expression["values"]
        ]
        assert chosen, monitor["metadata"]["name"]
        assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in chosen)
    policy = burn_policy(PRODUCTS)
    rules = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "PrometheusRule"}
    assert rules == {f"{p.name}-slos": rule_groups_of(p, policy) for p in PRODUCTS}
