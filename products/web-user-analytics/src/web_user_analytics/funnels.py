"""What a funnel is: ordered steps, each a page (path, `*` matches any characters), a tracked
event, or any conversion (an event named in `conversion_events`), that one person completes in
order within a conversion window.

Funnels come from `funnels:` in config/product_config.yaml (typed by `FunnelDefinition`) or
from `POST /web/funnels` (a `NewFunnel`, kept in gold.funnel_definitions).
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core import funnels

MIN_STEPS = 2
MAX_STEPS = 10
MAX_WINDOW_DAYS = 365


class FunnelStep(funnels.FunnelStep):
    """One step: a page view whose path matches `page`, a tracked `event` by name, or any
    `conversion` (an event the product's `conversion_events` names)."""

    MATCHES: ClassVar[dict[str, str]] = {
        **funnels.FunnelStep.MATCHES,
        "conversion": "e.is_conversion",
    }
    ONE_KIND: ClassVar[str] = (
        "a step is exactly one of a `page` (a path such as `/cart`), an `event` (such as "
        "`Order Completed`) or `conversion: true` (any conversion event)"
    )

    conversion: Literal[True] | None = Field(
        None,
        description="`true`: any conversion, whichever of `conversion_events` it is named.",
    )

    @property
    def label(self) -> str:
        """What the results call the step: its page, its event, or `conversion`."""
        if self.page is not None:
            return self.page
        return self.event if self.event is not None else "conversion"


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
