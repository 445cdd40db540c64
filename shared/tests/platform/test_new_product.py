"""`dataplatform new-product` in a copy of the repository with a virtual environment of its own:
two products made, installed and generated; their tests (the official Segment SDK through a
gateway, the models, the API) pass as made, the import contracts hold with both, a gateway
serves their routes to a key, and neither names the other. Refusals name what is wrong.

The copy's environment installs the repository's distributions (editable) and reads their
dependencies from this one's site-packages, so nothing here is downloaded but the build
backend pip needs, and this environment never sees the new products.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from dataplatform.core.errors import InvalidNameError, InvalidRequestError
from dataplatform.platform.collector import free_port
from dataplatform.platform.scaffold import plan, register
from dataplatform.testing import TEST_JWT_SECRET

REPOSITORY = Path(__file__).parents[3]
ALPHA, BETA = "alpha-analytics", "beta-analytics"


@dataclass
class Copy:
    root: Path
    env: dict[str, str]
    seconds: dict[str, float]

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )
        if check:
            assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
        return done

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.root / ".venv/bin/dataplatform"), *args)


def copy_of_the_repository(target: Path) -> None:
    """The working tree's files git keeps (committed or not), as a fresh clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPOSITORY / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def environment_of(root: Path) -> None:
    """A virtual environment with the copy's distributions, this one's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
    python = root / ".venv/bin/python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Last on the path: the copy's own installs come first (and their entry points win).
    (Path(site) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    products = [f"products/{p.name}" for p in sorted((root / "products").iterdir())]
    editable = [arg for folder in ["shared", *products] for arg in ("--editable", folder)]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", *editable],
        cwd=root,
        check=True,
    )
    for script, call in (
        ("pytest", "pytest:main"),
        ("lint-imports", "importlinter.cli:lint_imports_command"),
    ):
        module, function = call.split(":")
        path = root / ".venv/bin" / script
        path.write_text(
            f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
        )
        path.chmod(0o755)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    root = tmp_path_factory.mktemp("new-product") / "repository"
    started = time.monotonic()
    copy_of_the_repository(root)
    environment_of(root)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATAPLATFORM_")},
        # Its own tools first; ruff (a binary, not importable) from this environment.
        "PATH": f"{root / '.venv/bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(root / ".venv"),
    }
    made = Copy(root, env, {"copy and environment": time.monotonic() - started})
    started = time.monotonic()
    made.cli("new-product", ALPHA, "--team", "alpha-team")
    made.cli(
        "new-product",
        BETA,
        "--team",
        "beta-team",
        "--prefix",
        "/beta",
        "--stream",
        "orders:server",
        "--stream",
        "clicks:web",
    )
    made.seconds["two new-product commands"] = time.monotonic() - started
    yield made
    print("\nnew-product timings (reported, not asserted):", made.seconds)


def test_the_products_tests_pass_as_made(copy: Copy) -> None:
    started = time.monotonic()
    done = copy.run("make", "-C", f"products/{ALPHA}", "test")
    copy.seconds[f"make -C products/{ALPHA} test"] = time.monotonic() - started
    assert "4 passed" in done.stdout, done.stdout
    started = time.monotonic()
    done = copy.run(
        str(copy.root / ".venv/bin/pytest"), f"products/{BETA}", "-q", "-p", "no:cacheprovider"
    )
    copy.seconds[f"pytest products/{BETA}"] = time.monotonic() - started
    assert "6 passed" in done.stdout, done.stdout


def test_the_import_contracts_hold_and_keep_them_apart(copy: Copy) -> None:
    done = copy.run(str(copy.root / ".venv/bin/lint-imports"))
    assert "0 broken" in done.stdout
    for package in ("alpha_analytics", "beta_analytics"):
        assert f"{package} is layered" in done.stdout
    alpha = "\n".join(
        p.read_text() for p in (copy.root / f"products/{ALPHA}").rglob("*") if p.is_file()
    )
    assert "beta" not in alpha.lower()
    # Lint and types as the repository checks every product.
    ruff = str(Path(sys.executable).with_name("ruff"))
    copy.run(ruff, "check", f"products/{ALPHA}", f"products/{BETA}")
    copy.run(ruff, "format", "--check", f"products/{ALPHA}", f"products/{BETA}")
    # mypy reads dataplatform from its source, as `make lint` does (an editable install's import
    # hook is invisible to it).
    typed = Copy(copy.root, copy.env | {"MYPYPATH": str(copy.root / "shared/src")}, copy.seconds)
    typed.run(
        str(copy.root / ".venv/bin/python"),
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        f"products/{ALPHA}/src",
        f"products/{BETA}/src",
    )


def test_the_deployment_and_monitoring_files_name_them(copy: Copy) -> None:
    copy.cli("infra", "generate", "--check")
    for path in (
        f"products/{BETA}/Dockerfile",
        f".github/workflows/{BETA}.yml",
        f"infrastructure/k8s/base/products/{BETA}.yaml",
        f"infrastructure/monitoring/prometheus/rules/{BETA}.rules.yml",
        f"infrastructure/monitoring/grafana/dashboards/{BETA}.json",
    ):
        assert (copy.root / path).is_file(), path


def test_a_gateway_serves_their_routes_to_a_key(copy: Copy) -> None:
    env = copy.env | {
        "DATAPLATFORM_LAKE_ROOT": str(copy.root / ".data/lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{copy.root / '.data/metadata.db'}",
        "DATAPLATFORM_AUTH__JWT_SECRET": TEST_JWT_SECRET,
    }
    (copy.root / ".data").mkdir(exist_ok=True)
    served = Copy(copy.root, env, copy.seconds)
    served.cli("db", "upgrade")
    port = free_port()
    log = (copy.root / ".data/gateway.log").open("w")
    gateway = subprocess.Popen(
        [str(copy.root / ".venv/bin/dataplatform"), "serve", "--port", str(port)],
        cwd=copy.root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        key = served.cli("keys", "create", "reader", "--role", f"{BETA}-owner").stdout
        secret = next(line.split()[1] for line in key.splitlines() if line.startswith("key: "))
        for route in ("/beta/orders/daily", "/beta/clicks/daily"):
            answer = httpx.get(url + route, headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["rows"] == []  # nothing sent yet
        assert (
            httpx.get(
                f"{url}/{ALPHA}/events/daily", headers={"Authorization": f"Bearer {secret}"}
            ).status_code
            == 403
        )
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)


def test_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="products/web-user-analytics exists"):
        plan(REPOSITORY, "web-user-analytics", "a-team")
    with pytest.raises(InvalidRequestError, match="Prefix `/web` is `web-user-analytics`'s"):
        plan(tmp_path, "shop", "a-team", prefix="/web")
    with pytest.raises(InvalidNameError, match="kebab-case"):
        plan(tmp_path, "Shop_1", "a-team")
    with pytest.raises(InvalidRequestError, match=r"`Orders:web`: a stream's name") as refused:
        plan(tmp_path, "shop", "a-team", streams=["Orders:web"])
    assert refused.value.field == "stream[0]"
    with pytest.raises(InvalidRequestError, match=r"`orders`: the kind after `:` is one of"):
        plan(tmp_path, "shop", "a-team", streams=["orders"])
    with pytest.raises(InvalidRequestError, match="has its kind already") as refused:
        plan(tmp_path, "shop", "a-team", streams=["a:web", "b:web"])
    assert refused.value.field == "stream[1]"
    with pytest.raises(InvalidRequestError, match="Team `Growth`"):
        plan(tmp_path, "shop", "Growth")


def test_registering_adds_the_package_to_each_list_naming_every_product() -> None:
    text = (REPOSITORY / "pyproject.toml").read_text()
    registered = register(text, "shop", ["web_user_analytics", "mobile_user_analytics"])
    added = [line for line in registered.splitlines() if line.strip() == '"shop",']
    lists = sum(
        1
        for block in text.split("= [")
        if '"web_user_analytics"' in block.split("]")[0]
        and '"mobile_user_analytics"' in block.split("]")[0]
    )
    assert len(added) == lists >= 5
    assert 'containers = ["shop"]' in registered


def test_a_dry_run_lists_the_files_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dataplatform.cli import app

    answer = CliRunner().invoke(
        app, ["new-product", "shop", "--team", "a-team", "--root", str(tmp_path), "--dry-run"]
    )
    assert answer.exit_code == 0, answer.output
    assert "would write products/shop/src/shop/processing/gold_daily_events.sql" in answer.output
    assert "would write products/shop/tests/test_shop.py" in answer.output
    assert list(tmp_path.iterdir()) == []
