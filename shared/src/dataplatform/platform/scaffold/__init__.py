"""A new product in one command (`dataplatform new-product`): `products/<name>/` rendered from the
templates beside this module, shaped as every product is (declaration, streams, incremental
silver and gold models, a route with its permission and paging, health checks, SLOs, a console
page, tests that pass as made), and registered in the import contracts.

Its Dockerfile, Kubernetes objects, Prometheus rules, Grafana dashboard and CI workflow are not
templates: `dataplatform infra generate` makes them from the installed product, as for every
other (`new_product` runs it once the product is installed).
"""

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from dataplatform.core.config import ProductSettings
from dataplatform.core.errors import InvalidRequestError, TerminalError
from dataplatform.core.product import Product, discover_products

TEMPLATES = Path(__file__).parent / "templates"
SOURCE_KINDS = ("ios", "android", "web", "server")
DEFAULT_STREAM = "events:server"
_STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Templates rendered once per stream carry this in their file name.
PER_STREAM = "__stream__"
LAYERS = (
    "product",
    "serving | monitoring | console",
    "processing | storage | ingestion",
    "settings",
)


@dataclass(frozen=True)
class StreamSpec:
    name: str
    kind: str

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class NewProduct:
    """What `new-product` makes: the files, by their path under the repository's root."""

    name: str
    package: str
    files: dict[str, str]


def plan(
    root: Path,
    name: str,
    team: str,
    prefix: str | None = None,
    streams: Sequence[str] = (DEFAULT_STREAM,),
    installed: Sequence[Product] | None = None,
) -> NewProduct:
    """The files of product `name`, or an error naming what is wrong and what to do."""
    installed = discover_products() if installed is None else installed
    prefix = prefix or "/" + name
    _check_name(root, name, team, prefix, installed)
    specs = _streams(streams)
    package = name.replace("-", "_")
    values = {
        "name": name,
        "package": package,
        "team": team,
        "prefix": prefix,
        "title": name.replace("-", " ").capitalize(),
        "description": f"Events and people per day and event name, from its "
        f"{', '.join(s.name for s in specs)} stream{'s' if len(specs) > 1 else ''}.",
        "settings_class": "".join(part.capitalize() for part in name.split("-")) + "Settings",
        "env_prefix": f"DATAPLATFORM_{package.upper()}_",
        "streams": specs,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701  (Python, SQL and YAML, never HTML)
    )
    files = {}
    for template in sorted(TEMPLATES.rglob("*.j2")):
        relative = template.relative_to(TEMPLATES).as_posix().removesuffix(".j2")
        target = f"products/{name}/{relative.replace('src/package/', f'src/{package}/')}"
        target = target.replace("tests/test_product.py", f"tests/test_{package}.py")
        rendered = environment.get_template(template.relative_to(TEMPLATES).as_posix())
        if PER_STREAM in relative:
            for spec in specs:
                text = rendered.render(values | {"stream": spec})
                files[target.replace(PER_STREAM, spec.name)] = text
        else:
            files[target] = rendered.render(values)
    return NewProduct(name, package, files)


def _check_name(
    root: Path, name: str, team: str, prefix: str, installed: Sequence[Product]
) -> None:
    # The declaration's own rules (kebab-case, a reserved namespace, the prefix's shape).
    Product(name, team, prefix, "", root, ProductSettings, lambda _: None)  # type: ignore[arg-type, return-value]
    if (root / "products" / name).exists():
        raise InvalidRequestError(
            f"products/{name} exists already; choose another name, or remove the folder.", "name"
        )
    for product in installed:
        if product.name == name:
            raise InvalidRequestError(
                f"A product named `{name}` is installed already; choose another name.", "name"
            )
        if product.prefix == prefix:
            raise InvalidRequestError(
                f"Prefix `{prefix}` is `{product.name}`'s; choose another with --prefix.", "prefix"
            )
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", team):
        raise InvalidRequestError(
            f"Team `{team}` must be lower-case letters, digits and `-` (it labels alerts and "
            "pods), e.g. `growth-team`.",
            "team",
        )


def _streams(specs: Sequence[str]) -> list[StreamSpec]:
    streams: list[StreamSpec] = []
    for index, spec in enumerate(specs):
        name, _, kind = spec.partition(":")
        field = f"stream[{index}]"
        if not _STREAM_NAME.match(name):
            raise InvalidRequestError(
                f"`{spec}`: a stream's name is lower-case letters, digits and `_` (a table name), "
                "e.g. `orders:server`.",
                field,
            )
        if kind not in SOURCE_KINDS:
            raise InvalidRequestError(
                f"`{spec}`: the kind after `:` is one of {', '.join(SOURCE_KINDS)}.", field
            )
        for held in streams:
            if held.name == name or held.kind == kind:
                raise InvalidRequestError(
                    f"`{spec}`: `{held.name}:{held.kind}` has its "
                    f"{'name' if held.name == name else 'kind'} already; the collector routes a "
                    "source to a product's stream by kind, so give each stream its own.",
                    field,
                )
        streams.append(StreamSpec(name, kind))
    if not streams:
        raise InvalidRequestError("A product accepts at least one stream (--stream).", "stream")
    return streams


def write(root: Path, made: NewProduct) -> None:
    """Write the files and the product's import contracts; nothing is half written on a
    refusal, since `plan` checked everything first."""
    for path, text in made.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    pyproject = root / "pyproject.toml"
    existing = [product.name.replace("-", "_") for product in discover_products()]
    pyproject.write_text(register(pyproject.read_text(), made.package, existing))


def register(text: str, package: str, existing: Sequence[str]) -> str:
    """`text` (the root pyproject.toml) with `package` in every list that names every product
    (import-linter's root packages and its contracts, ruff's first-party packages), and its own
    layered contract after the other contracts."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    items: list[str] | None = None
    for line in lines:
        if items is not None:
            if line.strip() == "]":
                if set(existing) <= set(items) and package not in items:
                    out.append(f'    "{package}",\n')
                items = None
            else:
                items.append(line.strip().rstrip(",").strip('"'))
        elif line.rstrip().endswith("= ["):
            items = []
        out.append(line)
    contract = (
        "[[tool.importlinter.contracts]]\n"
        f'name = "{package} is layered: product, then serving and monitoring, then what they use"\n'
        'type = "layers"\n'
        f'containers = ["{package}"]\n'
        "exhaustive = true\n"
        "layers = [\n" + "".join(f'    "{layer}",\n' for layer in LAYERS) + "]\n"
    )
    registered = "".join(out)
    after_contracts = registered.index(
        "\n[tool.", registered.rindex("[[tool.importlinter.contracts]]")
    )
    return (
        registered[:after_contracts] + "\n" + contract.rstrip("\n") + registered[after_contracts:]
    )


def tidy(root: Path, name: str) -> None:
    """Sort the new product's imports and format it as the repository's own code is: where its
    package sorts among the first-party ones depends on its name."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise TerminalError(
            "ruff is not installed, so the new product cannot be formatted; install the "
            "development requirements (`make install`) and run new-product again."
        )
    folder = str(root / "products" / name)
    for command in (["check", "--select", "I", "--fix", "--quiet"], ["format", "--quiet"]):
        subprocess.run([ruff, *command, folder], cwd=root, check=True)  # noqa: S603


def install(root: Path, name: str) -> float:
    """Install the product (editable, with the project's pins) and generate its deployment and
    monitoring files; the seconds it took."""
    started = time.monotonic()
    python = sys.executable
    subprocess.run(  # noqa: S603  (this interpreter's pip, on the new product's folder)
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--constraint",
            str(root / "constraints.txt"),
            "--editable",
            str(root / "products" / name),
        ],
        check=True,
    )
    cli = shutil.which("dataplatform", path=str(Path(python).parent)) or "dataplatform"
    subprocess.run([cli, "infra", "generate", "--root", str(root)], check=True)  # noqa: S603
    return time.monotonic() - started
