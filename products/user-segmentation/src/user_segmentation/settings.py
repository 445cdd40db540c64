"""The options of user-segmentation (config/product_config.yaml, environment, admin API): every
hook reads them from its product context, typed by `UserSegmentationSettings`."""

from typing import Self

from pydantic import Field, field_validator, model_validator

from dataplatform.core.config import ProductSettings
from dataplatform.core.funnels import FunnelStep
from user_segmentation.features import NUMERIC_FEATURES

CHECKOUT = [
    FunnelStep(page="/"),
    FunnelStep(page="/products/*"),
    FunnelStep(page="/cart"),
    FunnelStep(page="/checkout"),
    FunnelStep(event="purchase"),
]


class UserSegmentationSettings(ProductSettings):
    """Options of user-segmentation, set in config/product_config.yaml."""

    feature_window_days: int = Field(
        30,
        gt=0,
        le=3650,
        description="UTC days of behaviour, ending on the newest event's day, that features "
        "summarise.",
    )
    currency: str = Field(
        "EUR",
        pattern=r"^[A-Z]{3}$",
        description="Currency of the monetary feature: mobile revenue in other currencies is "
        "left out (the web shop sells in this one).",
    )
    funnel: list[FunnelStep] = Field(
        default_factory=lambda: list(CHECKOUT),
        min_length=1,
        max_length=10,
        description="Steps of the funnel whose furthest step reached is the funnel_step feature.",
    )
    min_clusters: int = Field(2, ge=2, le=50, description="Fewest ML segments tried.")
    max_clusters: int = Field(8, ge=2, le=50, description="Most ML segments tried.")
    cluster_features: list[str] = Field(
        default_factory=lambda: [
            "recency_days",
            "frequency",
            "monetary",
            "sessions_per_week",
            "mobile_share",
            "active_days",
            "funnel_step",
        ],
        min_length=1,
        description="Numeric features the clustering reads (standardised).",
    )
    random_seed: int = Field(
        7, ge=0, description="Seed of the clustering, for reproducible models."
    )
    retrain_every_seconds: int = Field(
        3600, gt=0, description="Interval of the scheduled retraining of the ML segments."
    )

    @field_validator("cluster_features")
    @classmethod
    def _numeric_features(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name not in NUMERIC_FEATURES]
        if unknown:
            raise ValueError(
                f"{unknown} are not numeric features; choose from {', '.join(NUMERIC_FEATURES)}"
            )
        if len(set(names)) != len(names):
            raise ValueError("each feature may be named once")
        return names

    @model_validator(mode="after")
    def _cluster_range(self) -> Self:
        if self.min_clusters > self.max_clusters:
            raise ValueError(
                f"min_clusters ({self.min_clusters}) must not exceed max_clusters "
                f"({self.max_clusters})"
            )
        return self
