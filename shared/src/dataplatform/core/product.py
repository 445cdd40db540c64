"""The `Product` declaration, and finding the installed products through their entry points.

A product's `product.py` holds one `Product(...)` value; its pyproject registers it:

    [project.entry-points."dataplatform.products"]
    mobile_user_analytics = "mobile_user_analytics.product:product"

Central code (gateway, orchestrator, catalog) finds products here and never names one.
"""

import functools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dataplatform.core.config import (
    ENV_PREFIX,
    Environment,
    PlatformSettings,
    ProductSettings,
    current_environment,
    load_settings,
)
from dataplatform.core.connectors.lakehouse import TableName
from dataplatform.core.declarations import PII as PII
from dataplatform.core.declarations import Column as Column
from dataplatform.core.declarations import Table as Table
from dataplatform.core.errors import InvalidNameError, NotFoundError, TerminalError, did_you_mean
from dataplatform.core.monitoring import HealthCheck
from dataplatform.core.product_context import Configurable, ProductContext

if TYPE_CHECKING:
    from fastapi import APIRouter

    from dataplatform.core.console import ConsolePage
    from dataplatform.core.jobs import Job
    from dataplatform.core.processing import Model, ModelGraph, ModelHeader

ENTRY_POINT_GROUP = "dataplatform.products"
RESERVED_NAMESPACES = ("platform",)
_PRODUCT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PREFIX = re.compile(r"^/[a-z][a-z0-9-]*$")


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


def _no_models(_context: ProductContext[Any]) -> "Sequence[Model]":
    return ()


def _no_pages(_context: ProductContext[Any]) -> "Sequence[ConsolePage]":
    return ()


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
    # The tables no model writes; `tables` adds those the models' headers describe.
    storage_tables: tuple[Table, ...] = ()
    # How long tables the models write are kept, by `<layer>.<table>`: the one thing about them
    # a header does not say. Not compared: a mapping cannot be hashed.
    model_retention_days: Mapping[str, int] = field(default_factory=dict, compare=False)
    health_checks: tuple[HealthCheck, ...] = field(default=())
    # Loads the product's models (SQL files and Python models of its `processing/` stage),
    # given the product's context, whose settings their `var(...)` read.
    models: "Callable[[ProductContext[Any]], Sequence[Model]]" = field(default=_no_models)
    # Scheduled work besides the models (retention, retraining, collection): see core/jobs.py.
    jobs: "tuple[Job, ...]" = ()
    # Its pages in the admin console (core/console.py), given its context; none: a page of its
    # tables.
    console: "Callable[[ProductContext[Any]], Sequence[ConsolePage]]" = field(default=_no_pages)

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
        declared = {table.name for table in self.storage_tables}
        for table in self.storage_tables:
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

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table the product owns: its storage's, then those its models write, as their
        headers describe them (see `tables_of`); read once per process."""
        known: tuple[Table, ...] | None = self.__dict__.get("_tables")
        if known is not None:
            return known
        describing = _being_described()
        if self.name in describing:
            # A models hook may look at every installed product's tables (operational-metrics'
            # does), this one's included: while its headers are read, it shows its storage's.
            return self.storage_tables
        describing.add(self.name)
        try:
            headers = self._model_headers()
        finally:
            describing.discard(self.name)
        tables = tables_of(self.name, self.storage_tables, headers, self.model_retention_days)
        self.__dict__["_tables"] = tables  # frozen dataclass: cached as cached_property does
        return tables

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(self.table_name(table.name) for table in self.tables)

    def _model_headers(self) -> "list[ModelHeader]":
        # A product without models has no header to read, nor settings to load for one.
        if self.models is _no_models:
            return []
        return [model.header for model in self.models(self._storage_context())]

    def _storage_context(self) -> ProductContext[Any]:
        """The context the models are loaded under to read their headers: storage's tables only,
        since the others are what the headers are read for."""
        return ProductContext(
            name=self.name,
            settings=self.settings(),
            tables=tuple(self.table_name(table.name) for table in self.storage_tables),
            settings_of=_settings_from_files,
            declarations=self.storage_tables,
        )

    def context(
        self,
        settings: ProductSettings | None = None,
        settings_of: Callable[[Configurable], ProductSettings] | None = None,
    ) -> ProductContext[Any]:
        """The context the product's hooks receive, under `settings` (by default its files' and
        environment's; `ProductConfigs.context_of` gives the one with stored changes applied)."""
        return ProductContext(
            name=self.name,
            settings=settings or self.settings(),
            tables=self.table_names,
            settings_of=settings_of or _settings_from_files,
            declarations=self.tables,
        )

    def model_graph(self, context: ProductContext[Any] | None = None) -> "ModelGraph":
        """The product's models and what they read, checked for unknown refs and cycles.

        `context` carries the settings in force (see `ProductConfigs.context_of`); those of the
        files and the environment by default.
        """
        from dataplatform.core.processing import build_graph

        models = self.model_list(context)
        declared = [table.name for table in self.tables]
        return build_graph(self.namespace, models, declared, person_columns_of([self]))

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


def _settings_from_files(product: Configurable) -> ProductSettings:
    return product.settings()


_describing = threading.local()


def _being_described() -> set[str]:
    """The products whose headers this thread is reading now."""
    if not hasattr(_describing, "names"):
        _describing.names = set()
    names: set[str] = _describing.names
    return names


def tables_of(
    product: str,
    storage: Iterable[Table],
    headers: "Iterable[ModelHeader]",
    model_retention_days: Mapping[str, int],
) -> tuple[Table, ...]:
    """`storage`'s tables, then one per model header: its description, columns, tags, owner and
    partitioning, its PII the columns tagged `pii`.

    A table is declared once: storage declaring a table a model writes is refused, and so is a
    retention for a table no model writes (storage's `Table` says it).
    """
    stored = {table.name: table for table in storage}
    described = {header.name: _table_of(header, model_retention_days) for header in headers}
    twice = sorted(stored.keys() & described.keys())
    if twice:
        raise InvalidNameError(
            f"Product `{product}` declares {', '.join(f'`{name}`' for name in twice)} in its "
            "storage, but a model writes each and its header describes it: remove them from "
            "storage (a retention goes in `model_retention_days`)."
        )
    unknown = sorted(model_retention_days.keys() - described.keys())
    if unknown:
        raise InvalidNameError(
            f"Product `{product}` sets model_retention_days of {', '.join(unknown)}, which no "
            f"model writes; set a storage table's on its `Table`.{did_you_mean(unknown[0], described)}"
        )
    return (*stored.values(), *described.values())


def _table_of(header: "ModelHeader", model_retention_days: Mapping[str, int]) -> Table:
    columns = tuple(
        Column(name, spec.description, tuple(spec.tags), spec.type)
        for name, spec in header.columns.items()
    )
    return Table(
        header.name,
        header.description,
        partition_by=tuple(header.partition_by),
        cluster_by=tuple(header.cluster_by),
        pii=tuple(column.name for column in columns if PII in column.tags),
        retention_days=model_retention_days.get(header.name),
        columns=columns,
        owner=header.owner,
    )


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


def person_columns_of(products: Iterable[Product]) -> dict[str, frozenset[str]]:
    """`{table: its pii columns}` over every table the products declare or their models write:
    where the erasure looks for people and the suppression guard keeps erased ones out."""
    return {
        product.table_name(table.name): frozenset(table.pii)
        for product in products
        for table in product.tables
        if table.pii
    }


@functools.cache  # declarations change only with the installed code
def declared_person_columns() -> Mapping[str, frozenset[str]]:
    """`person_columns_of` every installed product."""
    return person_columns_of(discover_products())


def get_product(name: str) -> Product:
    """The installed product called `name`, with a suggestion when it is misspelt."""
    products = {product.name: product for product in discover_products()}
    if name in products:
        return products[name]
    installed = ", ".join(products) or "none"
    raise NotFoundError(
        f"No product `{name}` is installed (installed: {installed}).{did_you_mean(name, products)}"
    )
