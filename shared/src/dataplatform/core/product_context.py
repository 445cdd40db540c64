"""The product context: what every hook of a product (router, models, health checks, jobs)
receives instead of reaching for global settings.

    def create_router(context: ProductContext[WebSettings]) -> APIRouter:
        timezone = context.settings.reporting_timezone
        sessions = context.table("gold.sessions")  # web_user_analytics.gold.sessions

The platform builds it with the settings in force: the product's files and environment with the
configuration version saved through the admin API applied (`ProductConfigs.context_of`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, Protocol, Self, TypeVar

from dataplatform.core.config import Environment, ProductSettings
from dataplatform.core.declarations import Table
from dataplatform.core.errors import NotFoundError, did_you_mean

S = TypeVar("S", bound=ProductSettings)


class Configurable(Protocol):
    """What resolving a product's settings needs of it; every `Product` is one."""

    @property
    def name(self) -> str: ...

    def settings(
        self, environment: Environment | None = None, stored: Mapping[str, Any] | None = None
    ) -> ProductSettings: ...


@dataclass(frozen=True, kw_only=True)
class ProductContext(Generic[S]):
    """A product's settings in force, its namespace and the full names of its tables."""

    name: str
    settings: S
    tables: tuple[str, ...]
    # How this process resolves any product's settings in force (stored versions applied when
    # the platform has a metadata store): for hooks that look at other products' SLOs.
    settings_of: Callable[[Configurable], ProductSettings]
    # What each of those tables is (description, columns, tags): storage's declarations and the
    # models' headers, as `Product.tables` gives them; the published tables list describes them.
    declarations: tuple[Table, ...] = ()

    @property
    def namespace(self) -> str:
        """The product's name in table names: `web-user-analytics` -> `web_user_analytics`."""
        return self.name.replace("-", "_")

    def table(self, name: str) -> str:
        """The full name of one of the product's declared tables: `gold.events` ->
        `web_user_analytics.gold.events`."""
        full = f"{self.namespace}.{name}"
        if full not in self.tables:
            declared = [table.split(".", 1)[1] for table in self.tables]
            raise NotFoundError(
                f"Product `{self.name}` declares no table `{name}`; declare it in its storage "
                f"or models.{did_you_mean(name, declared)}"
            )
        return full

    @classmethod
    def extending(cls, context: "ProductContext[S]", **more: Any) -> Self:
        """`context` with more in it, as a `cls`: `HealthContext.extending(context, lake=lake)`."""
        return cls(**{f.name: getattr(context, f.name) for f in fields(ProductContext)}, **more)
