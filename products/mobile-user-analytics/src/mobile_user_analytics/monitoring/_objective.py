"""The product's freshness objective, which the lag checks judge against."""

from dataplatform.core.config import ProductSettings


def freshness_objective_seconds(settings: ProductSettings) -> float | None:
    """The tightest `freshness_seconds` SLO threshold of `settings` (those in force), if any."""
    thresholds = [s.threshold for s in settings.slos if s.indicator == "freshness_seconds"]
    return min(thresholds, default=None)
