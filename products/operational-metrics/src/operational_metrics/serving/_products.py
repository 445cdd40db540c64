"""The products the metrics cover, as installed (their entry points)."""

import functools

from operational_metrics.serving._common import PLATFORM


@functools.cache
def watched_names() -> tuple[str, ...]:
    """Every installed product's name, sorted (the set cannot change while a process runs)."""
    from dataplatform.core.product import discover_products

    return tuple(product.name for product in discover_products())


def traffic_owners() -> list[str]:
    """Whose API traffic is counted: every product, and `platform` for the rest of the gateway."""
    return [*watched_names(), PLATFORM]
