"""The `Product` declaration, and finding the installed products through their entry points.

A product's `product.py` holds one `Product(...)` value; its pyproject registers it:

    [project.entry-points."dataplatform.products"]
    mobile_user_analytics = "mobile_user_analytics.product:product"

Central code (gateway, orchestrator, catalog) finds products here and never names one.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from dataplatform.core.config import (
    ENV_PREFIX,
    Environment,
    PlatformSettings,
    ProductSettings,
    current_environment,
    load_settings,
)
from dataplatform.core.connectors.lakehouse import TableName
from dataplatform.core.errors import InvalidNameError, NotFoundError, TerminalError, did_you_mean
from dataplatform.core.monitoring import HealthCheck
from dataplatform.core.product_context import ProductContext

if TYPE_CHECKING:
    from fastapi import APIRouter

    from dataplatform.core.jobs import Job
    from dataplatform.core.processing import Model, ModelGraph

ENTRY_POINT_GROUP = "dataplatform.products"
RESERVED_NAMESPACES = ("platform",)
_PRODUCT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PREFIX = re.compile(r"^/[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Table:
    """A table the product owns, named `<layer>.<table>` within the product."""

    name: str
    description: str
    schema: pa.Schema | None = None
    partition_by: tuple[str, ...] = ()
    pii: tuple[str, ...] = ()
    retention_days: int | None = None


@dataclass(frozen=True)
class Stream:
    """A stream of events the product accepts, landing in one of its bronze tables."""

    name: str
    description: str
    table: str
    source_kinds: tuple[Literal["ios", "android", "web", "server"], ...]
    # Server-side events carry no device; their context says whether they are about an `app`
    # or a `page`, and the collector routes them to the stream declaring that surface.
    surface: Literal["app", "page"] | None = None


@dataclass(frozen=True)
class Product:
    """Everything the platform needs to know to run, serve, watch and catalogue a product."""

    name: str
    owner: str
    prefix: str
    description: str
    config_dir: Path
    settings_class: type[ProductSettings]
    # Every hook receives the product's context (settings in force, table names): see
    # core/product_context.py. The gateway builds the router again when the settings change.
    router: "Callable[[ProductContext[Any]], APIRouter]"
    streams: tuple[Stream, ...] = ()
    tables: tuple[Table, ...] = ()
    health_checks: tuple[HealthCheck, ...] = field(default=())
    # Loads the product's models (SQL files and Python models of its `processing/` stage),
    # given the product's context, whose settings their `var(...)` read.
    models: "Callable[[ProductContext[Any]], Sequence[Model]]" = field(default=lambda _context: ())
    # Scheduled work besides the models (retention, retraining, collection): see core/jobs.py.
    jobs: "tuple[Job, ...]" = ()

    def __post_init__(self) -> None:
        if self.namespace in RESERVED_NAMESPACES:
            raise InvalidNameError(
                f"Product name `{self.name}` is reserved: the platform's own tables live under "
                f"`{self.namespace}.*`."
            )
        if not _PRODUCT_NAME.match(self.name):
            raise InvalidNameError(
                f"Product name `{self.name}` must be kebab-case, e.g. `web-user-analytics`."
            )
        if not _PREFIX.match(self.prefix):
            raise InvalidNameError(
                f"Product `{self.name}` prefix `{self.prefix}` must look like `/web`."
            )
        declared = {table.name for table in self.tables}
        for table in self.tables:
            TableName.parse(f"{self.namespace}.{table.name}")
            for column in table.pii:
                if table.schema is not None and column not in table.schema.names:
                    raise InvalidNameError(
                        f"Product `{self.name}` tags `{column}` of `{table.name}` as pii, "
                        "but the table has no such column."
                    )
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise InvalidNameError(
                f"Product `{self.name}` declares two jobs with one name: {names}."
            )
        for stream in self.streams:
            if stream.table not in declared or not stream.table.startswith("bronze."):
                raise InvalidNameError(
                    f"Stream `{stream.name}` of `{self.name}` lands in `{stream.table}`, "
                    "which must be one of the product's declared bronze tables."
                )

    @property
    def namespace(self) -> str:
        """The product's name in table names: `web-user-analytics` -> `web_user_analytics`."""
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        return f"{ENV_PREFIX}{self.namespace.upper()}_"

    def table_name(self, table: str) -> str:
        """The fully qualified name of one of the product's tables."""
        return f"{self.namespace}.{table}"

    @cached_property
    def table_names(self) -> tuple[str, ...]:
        return tuple(self.table_name(table.name) for table in self.tables)

    def context(
        self,
        settings: ProductSettings | None = None,
        settings_of: "Callable[[Product], ProductSettings] | None" = None,
    ) -> ProductContext[Any]:
        """The context the product's hooks receive, under `settings` (by default its files' and
        environment's; `ProductConfigs.context_of` gives the one with stored changes applied)."""
        return ProductContext(
            name=self.name,
            settings=settings or self.settings(),
            tables=self.table_names,
            settings_of=settings_of or _settings_from_files,
        )

    def model_graph(self, context: ProductContext[Any] | None = None) -> "ModelGraph":
        """The product's models and what they read, checked for unknown refs and cycles.

        `context` carries the settings in force (see `ProductConfigs.context_of`); those of the
        files and the environment by default.
        """
        from dataplatform.core.processing import build_graph

        models = self.model_list(context)
        return build_graph(self.namespace, models, [table.name for table in self.tables])

    def model_list(self, context: ProductContext[Any] | None = None) -> "Sequence[Model]":
        """The product's models under `context` (its files' and environment's by default)."""
        return self.models(context or self.context())

    def env_file(self, environment: Environment | None = None) -> Path:
        return self.config_dir / "environments" / f"{environment or current_environment()}.env"

    def settings(
        self, environment: Environment | None = None, stored: Mapping[str, Any] | None = None
    ) -> ProductSettings:
        """The product's settings: defaults < product_config.yaml < `<env>.env` < `stored`
        (changed through the admin API) < variables."""
        return load_settings(
            self.settings_class,
            config_file=self.config_dir / "product_config.yaml",
            env_file=self.env_file(environment),
            env_prefix=self.env_prefix,
            stored=stored,
        )

    def platform_settings(self, environment: Environment | None = None) -> PlatformSettings:
        """Platform settings as this product sees them when it runs alone (its env file applies)."""
        return load_settings(PlatformSettings, env_file=self.env_file(environment))


def _settings_from_files(product: Product) -> ProductSettings:
    return product.settings()


def discover_products() -> list[Product]:
    """Every installed product, sorted by name; refuses two products with one name or prefix."""
    products: list[Product] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        loaded: Any = entry_point.load()
        if not isinstance(loaded, Product):
            raise TerminalError(
                f"Entry point `{entry_point.name}` = `{entry_point.value}` in group "
                f"`{ENTRY_POINT_GROUP}` must point to a Product, not {type(loaded).__name__}."
            )
        products.append(loaded)
    for attribute in ("name", "prefix"):
        seen: dict[str, Product] = {}
        for product in products:
            value = getattr(product, attribute)
            if value in seen:
                raise TerminalError(
                    f"Products `{seen[value].name}` and `{product.name}` share the {attribute} `{value}`."
                )
            seen[value] = product
    return sorted(products, key=lambda product: product.name)


def get_product(name: str) -> Product:
    """The installed product called `name`, with a suggestion when it is misspelt."""
    products = {product.name: product for product in discover_products()}
    if name in products:
        return products[name]
    installed = ", ".join(products) or "none"
    raise NotFoundError(
        f"No product `{name}` is installed (installed: {installed}).{did_you_mean(name, products)}"
    )
