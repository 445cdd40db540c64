"""GitHub Actions workflows: one per product, run when its folder or what it stands on changes
(lint, its tests, its image; on main: the image pushed under the commit, staging deployed and
smoke-tested through the gateway, prod after an approval on the protected `production`
environment), and the platform's own for core, the gateway and the infrastructure."""

from typing import Any

from dataplatform.core.product import Product

# What every product stands on: a change here runs every product's workflow.
CORE_PATHS = ["shared/**", "constraints.txt", "requirements-dev.txt", "pyproject.toml", "Makefile"]
PLATFORM_PATHS = [*CORE_PATHS, "infrastructure/**", ".ci/**"]
PYTHON = "3.11"
CHECKOUT = "actions/checkout@v4"
SETUP_PYTHON = "actions/setup-python@v5"
# The registry images are pushed to is the repository's setting, never written here.
REGISTRY = "${{ vars.IMAGE_REGISTRY }}"


def _triggers(paths: list[str]) -> dict[str, Any]:
    return {
        "pull_request": {"paths": paths},
        "push": {"branches": ["main"], "paths": paths},
        "workflow_dispatch": {},
    }


def _setup() -> list[dict[str, Any]]:
    return [
        {"uses": CHECKOUT},
        {"uses": SETUP_PYTHON, "with": {"python-version": PYTHON}},
        {"name": "Services the tests use", "run": "sudo infrastructure/local/services.sh"},
        {"name": "Install", "run": "make install"},
    ]


def _image_steps(name: str, dockerfile: str) -> list[dict[str, Any]]:
    tag = f"{REGISTRY}/{name}:${{{{ github.sha }}}}"
    return [
        {"uses": CHECKOUT},
        {
            "name": "Build the base image",
            "run": "docker build -f infrastructure/docker/base.Dockerfile -t dataplatform-base .",
        },
        {"name": f"Build {name}", "run": f"docker build -f {dockerfile} -t {tag} ."},
        {
            "name": "Push it under the commit (main only)",
            "if": "github.event_name == 'push'",
            "run": f'echo "${{{{ secrets.REGISTRY_TOKEN }}}}" | docker login {REGISTRY} '
            f'-u "${{{{ github.actor }}}}" --password-stdin\ndocker push {tag}',
        },
    ]


def _deploy(environment: str, needs: str, images: list[str], product: str | None) -> dict[str, Any]:
    """Set the images to this commit in the overlay, apply it, wait, then ask the gateway's
    /ready (each product's health checks) that the product (or the platform) is not failing."""
    healthy = f'.products["{product}"].status != "failing"' if product else '.status != "failing"'
    overlay = f"infrastructure/k8s/overlays/{'staging' if environment == 'staging' else 'prod'}"
    set_images = " ".join(f"{image}={REGISTRY}/{image}:${{{{ github.sha }}}}" for image in images)
    return {
        "needs": needs,
        "if": "github.event_name == 'push' && github.ref == 'refs/heads/main'",
        "runs-on": "ubuntu-latest",
        "environment": environment,
        "concurrency": {"group": f"deploy-{environment}", "cancel-in-progress": False},
        "steps": [
            {"uses": CHECKOUT},
            {
                "name": "Cluster credentials",
                "run": 'mkdir -p ~/.kube && echo "${{ secrets.KUBECONFIG }}" > ~/.kube/config',
            },
            {
                "name": f"Deploy to {environment}",
                "working-directory": overlay,
                "run": f"kustomize edit set image {set_images}\nkubectl apply -k .\n"
                "kubectl rollout status deployment --timeout=10m",
            },
            {
                "name": "Smoke test through the gateway",
                "run": 'curl --silent --retry 10 --retry-all-errors "${{ vars.GATEWAY_URL }}/ready"'
                f" | jq -e '{healthy}'",
            },
        ],
    }


def product_workflow(product: Product) -> dict[str, Any]:
    name = product.name
    folder = f"products/{name}"
    image = f"dataplatform-{name}"
    return {
        "name": name,
        "on": _triggers([f"{folder}/**", *CORE_PATHS, f".github/workflows/{name}.yml"]),
        "permissions": {"contents": "read"},
        "jobs": {
            "test": {
                "runs-on": "ubuntu-latest",
                "env": {"CI": "true"},
                "steps": [
                    *_setup(),
                    {
                        "name": "Lint",
                        "run": f"make -C {folder} lint\n"
                        f".venv/bin/mypy --strict {folder}/src\n.venv/bin/lint-imports",
                    },
                    {"name": "Its tests", "run": f"make -C {folder} test"},
                ],
            },
            "image": {
                "needs": "test",
                "runs-on": "ubuntu-latest",
                "steps": _image_steps(image, f"{folder}/Dockerfile"),
            },
            "staging": _deploy("staging", "image", [image], name),
            "production": _deploy("production", "staging", [image], name),
        },
    }


def platform_workflow(products: list[Product]) -> dict[str, Any]:
    images = ["dataplatform-base", *(f"dataplatform-{p.name}" for p in products)]
    return {
        "name": "platform",
        "on": _triggers([*PLATFORM_PATHS, ".github/workflows/platform.yml"]),
        "permissions": {"contents": "read"},
        "jobs": {
            "test": {
                "runs-on": "ubuntu-latest",
                "env": {"CI": "true"},
                "timeout-minutes": 90,
                "steps": [
                    {"uses": CHECKOUT},
                    {"uses": SETUP_PYTHON, "with": {"python-version": PYTHON}},
                    {
                        "name": "Generated files match the declarations",
                        "run": "make install\n.venv/bin/dataplatform infra generate --check",
                    },
                    {"name": "Everything, as CI runs it", "run": "sudo -E .ci/run"},
                ],
            },
            "image": {
                "needs": "test",
                "runs-on": "ubuntu-latest",
                "steps": _image_steps("dataplatform-base", "infrastructure/docker/base.Dockerfile"),
            },
            "staging": _deploy("staging", "image", images, None),
            "production": _deploy("production", "staging", images, None),
        },
    }
