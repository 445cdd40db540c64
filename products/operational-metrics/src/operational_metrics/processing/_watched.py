"""What the models watch: every installed product, its API prefix, its gold tables and its SLOs.

They reach the SQL models as variables (JSON text, read with `from_json`), so the models know
every product's SLOs and which API routes belong to it without importing any product.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from dataplatform.core.config import SLO, ProductSettings
from dataplatform.core.product import Product


@dataclass(frozen=True)
class WatchedSLO:
    """One SLO of a watched product, as its config declares it."""

    product: str
    name: str
    indicator: str
    threshold: float
    target: float
    description: str


@dataclass(frozen=True)
class WatchedProduct:
    """A product the metrics cover: its name, API prefix, whether it has gold tables, its SLOs."""

    name: str
    prefix: str
    has_gold_tables: bool
    slos: tuple[SLO, ...]


def watched_products(
    products: Sequence[Product], settings_of: Callable[[Product], ProductSettings]
) -> list[WatchedProduct]:
    """The installed products (`discover_products()`), with the SLOs of their settings in force
    (`settings_of`: the product context's)."""
    return [
        WatchedProduct(
            product.name,
            product.prefix,
            any(table.name.startswith("gold.") for table in product.tables),
            tuple(settings_of(product).slos),
        )
        for product in products
    ]


def model_variables(settings: Any, watched: Sequence[WatchedProduct]) -> dict[str, Any]:
    """What `var()` reads in the SQL models: the product's settings, and

    - `watched_products`: JSON list of {product, prefix, has_gold_tables};
    - `watched_slos`: JSON list of {product, name, indicator, threshold, target, description};
    - `burn_reach`: the longest burn-rate window as an interval ('360 minutes'), which the SLO
      model looks back over (a setting can lengthen it, so the look-back follows).
    """
    values: dict[str, Any] = dict(settings.model_dump())
    products = [
        {"product": p.name, "prefix": p.prefix, "has_gold_tables": p.has_gold_tables}
        for p in watched
    ]
    slos = [
        asdict(WatchedSLO(p.name, s.name, s.indicator, s.threshold, s.target, s.description))
        for p in watched
        for s in p.slos
    ]
    longest = max(settings.fast_burn_long_window_minutes, settings.slow_burn_long_window_minutes)
    values.update(
        watched_products=_json(products),
        watched_slos=_json(slos),
        burn_reach=f"{longest} minutes",
    )
    return values


def _json(rows: Sequence[Mapping[str, Any]]) -> str:
    return orjson.dumps(list(rows)).decode()
