"""The funnel whose furthest step each person reached is a feature: ordered steps, each a web
page (its path, `*` for any characters) or a tracked event, as web-user-analytics defines them."""

import json
from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FunnelStep(BaseModel):
    """A page view whose path matches `page`, or a tracked `event` by name."""

    model_config = ConfigDict(extra="forbid")

    page: str | None = Field(None, min_length=1, max_length=500, pattern=r"^/")
    event: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.page is None) == (self.event is None):
            raise ValueError(
                "a funnel step is either a `page` (a path such as `/cart`) or an `event` "
                "(such as `purchase`), not both or neither"
            )
        return self


def funnel_steps_json(steps: Sequence[FunnelStep]) -> str:
    """The steps as the SQL model reads them: `[{"kind": "page", "pattern": <LIKE pattern>}]`."""
    return json.dumps(
        [
            {"kind": "page", "pattern": _like(step.page)}
            if step.page is not None
            else {"kind": "event", "pattern": step.event}
            for step in steps
        ]
    )


def _like(page: str) -> str:
    """`*` as LIKE's `%`, with LIKE's own wildcards escaped (the model escapes with `\\`)."""
    escaped = page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")
