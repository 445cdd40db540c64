"""The workflows and the compose file: generated from the products' declarations, valid against
their published schemas (check-jsonschema, offline), path filters that run a product's workflow
for its own folder and core only, and commands and settings that the platform really has."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dataplatform.core.config import PlatformSettings
from dataplatform.core.product import discover_products
from dataplatform.platform import delivery, kubernetes
from dataplatform.platform.generated_files import stale_files
from dataplatform.testing import service_missing

ROOT = Path(__file__).parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
CLI = str(Path(sys.executable).with_name("dataplatform"))
PRODUCTS = discover_products()


def check_schema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_committed_files_are_what_the_declarations_generate() -> None:
    assert stale_files(ROOT, delivery.generate(PRODUCTS)) == [], "run `dataplatform infra generate`"


def test_every_workflow_is_valid_against_githubs_schema() -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.stem for p in workflows} == {p.name for p in PRODUCTS} | {"platform"}
    done = check_schema("vendor.github-workflows", *workflows)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = yaml.safe_load((WORKFLOWS / "web-user-analytics.yml").read_text())
    broken["jobs"]["test"]["runs_on"] = broken["jobs"]["test"].pop("runs-on")
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    done = check_schema("vendor.github-workflows", tmp_path / "broken.yml")
    assert done.returncode != 0 and "runs-on" in done.stdout + done.stderr


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    done = check_schema("vendor.compose-spec", ROOT / "compose.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def github_glob(pattern: str) -> re.Pattern[str]:
    """A path filter as GitHub reads it: `**` crosses folders, `*` does not."""
    assert not set(pattern) & set("?+[]!"), f"{pattern}: a glob feature this reading lacks"
    parts = (".*" if part == "**" else re.escape(part) for part in re.split(r"(\*\*)", pattern))
    return re.compile("".join(parts).replace(r"\*", "[^/]*"))


def triggered(changed: str) -> set[str]:
    """The workflows a pull request changing `changed` runs."""
    names = set()
    for path in WORKFLOWS.glob("*.yml"):
        workflow = yaml.safe_load(path.read_text())
        triggers = workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on` as true
        if any(github_glob(p).fullmatch(changed) for p in triggers["pull_request"]["paths"]):
            names.add(path.stem)
    return names


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (
            "products/web-user-analytics/src/web_user_analytics/serving/api.py",
            {"web-user-analytics"},
        ),
        ("products/user-segmentation/config/product_config.yaml", {"user-segmentation"}),
        ("shared/src/dataplatform/core/serving.py", {p.name for p in PRODUCTS} | {"platform"}),
        ("infrastructure/k8s/base/platform.yaml", {"platform"}),
        ("docs/insights.md", set()),
    ],
)
def test_a_change_runs_only_the_workflows_of_what_it_touches(
    changed: str, expected: set[str]
) -> None:
    assert triggered(changed) == expected


def test_the_glob_reading_keeps_star_inside_one_folder() -> None:
    assert github_glob("products/*/Dockerfile").fullmatch("products/web/Dockerfile")
    assert not github_glob("products/*/Dockerfile").fullmatch("products/web/deep/Dockerfile")
    assert github_glob("products/web/**").fullmatch("products/web/a/b/c.py")
    assert not github_glob("products/web/**").fullmatch("products/web-user-analytics/x.py")


def setting_exists(model: type[BaseModel], key: str) -> bool:
    """Whether DATAPLATFORM_A__B names a field `a.b` of `model`."""
    parts = key.removeprefix("DATAPLATFORM_").lower().split("__")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if index < len(parts) - 1:
            model = field.annotation  # type: ignore[assignment]
    return True


def platform_keys() -> set[str]:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    keys = {k for service in compose["services"].values() for k in service.get("environment", {})}
    for environment in ("dev", "staging", "prod"):
        path = ROOT / f"infrastructure/k8s/overlays/{environment}/environment.yaml"
        for config in yaml.safe_load_all(path.read_text()):
            keys |= set(config["data"])
    keys |= set(kubernetes.SECRET_KEYS)
    return {k for k in keys if k.startswith("DATAPLATFORM_")}


def test_every_setting_the_deployments_give_is_one_the_platform_reads() -> None:
    keys = platform_keys()
    assert "DATAPLATFORM_KAFKA_BOOTSTRAP_SERVERS" in keys
    product_prefixes = tuple(p.env_prefix for p in PRODUCTS)
    unknown = [
        k
        for k in sorted(keys)
        if not k.startswith(product_prefixes) and not setting_exists(PlatformSettings, k)
    ]
    assert unknown == []
    assert not setting_exists(PlatformSettings, "DATAPLATFORM_KAFKA__BOOTSTRAP_SERVERS")


DOCKERFILES = [
    ROOT / "infrastructure/docker/base.Dockerfile",
    *(p.config_dir.parent / "Dockerfile" for p in PRODUCTS),
]
LINTER = ROOT / "infrastructure/docker/lint/node_modules/.bin/dockerfile-utils"


def lint_dockerfile(path: Path) -> subprocess.CompletedProcess[str]:
    if not LINTER.exists():
        service_missing("dockerfile-utils is not installed (infrastructure/local/linters.sh)")
    return subprocess.run(
        [str(LINTER), "lint", str(path)], capture_output=True, text=True, check=False
    )


def test_every_dockerfile_passes_the_linter() -> None:
    for path in DOCKERFILES:
        done = lint_dockerfile(path)
        assert done.returncode == 0, f"{path}: {done.stdout}{done.stderr}"


def test_the_linter_refuses_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    text = (ROOT / "products/web-user-analytics/Dockerfile").read_text()
    broken.write_text(text.replace("HEALTHCHECK CMD [", "HEALTHCHECK CMD\n# ["))
    done = lint_dockerfile(broken)
    assert done.returncode != 0 and "HEALTHCHECK" in done.stdout + done.stderr


def test_every_image_builds_in_stages_and_runs_as_a_user_with_a_healthcheck() -> None:
    for path in DOCKERFILES:
        lines = path.read_text().splitlines()
        stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
        final = lines[stages[-1] :]
        assert len(stages) >= 2, f"{path}: one stage"
        assert "USER dataplatform" in final, f"{path}: the final stage runs as root"
        assert any(line.startswith("HEALTHCHECK CMD") for line in final), f"{path}: no healthcheck"
    base = DOCKERFILES[0].read_text()
    assert "@sha256:" in base and "npm ci" in base  # pinning by digest; the console built inside


def entry_commands() -> set[tuple[str, ...]]:
    """Every command the images are started with: their CMD, compose's and Kubernetes'."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    commands = {
        tuple(s["command"])
        for s in compose["services"].values()
        if s.get("command", [""])[0] == "dataplatform"
    }
    for document in yaml.safe_load_all(
        (ROOT / "infrastructure/k8s/base/platform.yaml").read_text()
    ):
        spec = document["spec"]
        if document["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if document["kind"] in ("Deployment", "CronJob"):
            commands.add(tuple(spec["template"]["spec"]["containers"][0]["command"]))
    return commands


def test_every_entry_command_is_one_the_cli_accepts() -> None:
    """What the images run, checked outside a container: each command with its options parses
    (`--help` after them exits 0 only when every option before it exists)."""
    commands = entry_commands()
    assert len(commands) >= len(PRODUCTS) + 2
    for command in sorted(commands):
        done = subprocess.run(
            [CLI, *command[1:], "--help"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{' '.join(command)}: {done.stdout}{done.stderr}"


def test_a_runner_command_with_an_option_the_cli_lacks_is_refused() -> None:
    done = subprocess.run(
        [CLI, "models", "run", "--product", "web-user-analytics", "--metrics-prot", "1", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "--metrics-prot" in done.stdout + done.stderr
