"""The product's freshness objective, which the lag checks judge against."""


def freshness_objective_seconds() -> float | None:
    """The tightest `freshness_seconds` SLO threshold of the product's settings, if it has one."""
    from mobile_user_analytics.product import product  # product.py imports this package

    thresholds = [
        s.threshold for s in product.settings().slos if s.indicator == "freshness_seconds"
    ]
    return min(thresholds, default=None)
