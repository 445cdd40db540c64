"""What a funnel is: ordered steps, each a page (path, `*` matches any characters) or a tracked
event, that one person completes in order within a conversion window.

Funnels come from `funnels:` in config/product_config.yaml (typed by `FunnelDefinition`) or
from `POST /web/funnels` (a `NewFunnel`, kept in gold.funnel_definitions).
"""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIN_STEPS = 2
MAX_STEPS = 10
MAX_WINDOW_DAYS = 365


class FunnelStep(BaseModel):
    """One step: a page view whose path matches `page`, or a tracked `event` by name."""

    model_config = ConfigDict(extra="forbid")

    page: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        pattern=r"^/",
        description="A page path such as `/cart`; `*` matches any characters (`/products/*`).",
    )
    event: str | None = Field(
        None, min_length=1, max_length=200, description="A tracked event such as `purchase`."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.page is None) == (self.event is None):
            raise ValueError(
                "a step is either a `page` (a path such as `/cart`) or an `event` (such as "
                "`purchase`), not both or neither"
            )
        return self

    @property
    def label(self) -> str:
        return self.page if self.page is not None else str(self.event)


class NewFunnel(BaseModel):
    """A funnel to create through the API."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the funnel measures.")
    steps: list[FunnelStep] = Field(
        min_length=MIN_STEPS,
        max_length=MAX_STEPS,
        description=f"{MIN_STEPS} to {MAX_STEPS} steps, in the order they must happen.",
    )
    window_days: int | None = Field(
        None,
        gt=0,
        le=MAX_WINDOW_DAYS,
        description="Days from the first step to complete the rest; the product's "
        "`funnel_window_days` when not given.",
    )


class FunnelDefinition(NewFunnel):
    """A funnel declared in config/product_config.yaml, under an id of its own."""

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Its id in the API: lower case letters, digits, `-` and `_`.",
    )
