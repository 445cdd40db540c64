"""What operational-metrics computes: time series of every product's operation, and its SLOs.

Silver copies what the platform publishes about itself (the gateway's metrics, table statistics,
model runs, the bus lag) and turns counters into increases. Gold holds per-minute series (API
traffic, table volumes, freshness, bus lag, model activity), each table's freshness, each model's status, every SLO
evaluated each minute with its burn rates, the SLOs' compliance and error budgets, and the
burn-rate incidents.

Time is the data's: a minute is evaluated at the platform's last measurement in it, and windows
end with the latest minute measured, so a hand-made series gives exact answers.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.processing import Model, load_models
from dataplatform.core.product_context import ProductContext
from operational_metrics.processing._watched import (
    WatchedProduct,
    model_variables,
    watched_products,
)
from operational_metrics.processing.incidents import incidents
from operational_metrics.settings import OperationalMetricsSettings


def models(context: ProductContext[OperationalMetricsSettings]) -> Sequence[Model]:
    """The product's models, watching every installed product (`discover_products()`) with the
    SLOs in force."""
    from dataplatform.core.product import discover_products

    watched = watched_products(discover_products(), context.settings_of)
    return models_watching(watched, context.settings)


def models_watching(
    watched: Sequence[WatchedProduct], settings: OperationalMetricsSettings
) -> list[Model]:
    """The models, watching `watched` products, with `var()` reading `settings`."""
    return load_models(Path(__file__).parent, [incidents], model_variables(settings, watched))


__all__ = ["WatchedProduct", "models", "models_watching", "watched_products"]
