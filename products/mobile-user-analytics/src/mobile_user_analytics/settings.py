"""The options of mobile-user-analytics, which every hook reads from its product context."""

from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, model_validator

from dataplatform.core.alerting import AlertSettings
from dataplatform.core.errors import did_you_mean

EventNames = list[Annotated[str, Field(min_length=1, max_length=200)]]


# The days of the app events and of every mobile table are UTC days; insights default to them.
REPORTING_TIMEZONE = "UTC"


class EventRoles(BaseModel):
    """Which track event names play each role the models count; any other name is `other`.

    A screen call is always a screen view; `screen_view` adds track events that stand for one.
    """

    app_open: EventNames = ["app_open", "Application Opened"]
    app_background: EventNames = ["app_background", "Application Backgrounded"]
    screen_view: EventNames = ["Screen Viewed"]
    tap: EventNames = ["tap"]
    add_to_cart: EventNames = ["add_to_cart", "Product Added"]
    purchase: EventNames = ["purchase", "Order Completed"]
    crash: EventNames = ["crash", "Application Crashed"]

    @model_validator(mode="before")
    @classmethod
    def _known_roles(cls, value: Any) -> Any:
        # An unknown role would be counted nowhere: refuse it, listing the roles.
        if isinstance(value, dict):
            roles = list(cls.model_fields)
            for role in value:
                if role not in roles:
                    raise ValueError(
                        f"unknown role `{role}`; the roles are {', '.join(roles)}."
                        f"{did_you_mean(str(role), roles)}"
                    )
        return value

    @model_validator(mode="after")
    def _one_role_per_name(self) -> Self:
        seen: dict[str, str] = {}
        for role, names in self.model_dump().items():
            for name in names:
                if name in seen:
                    raise ValueError(
                        f"`{name}` is given two roles, {seen[name]} and {role}; an event "
                        "counts as one of them: keep it under one role"
                    )
                seen[name] = role
        return self


class MobileUserAnalyticsSettings(AlertSettings):
    """Options of mobile-user-analytics, set in config/product_config.yaml."""

    session_timeout_minutes: int = Field(
        30, gt=0, description="Inactivity that ends a session without an SDK session id."
    )
    dedup_window_days: int = Field(
        7, gt=0, description="How far back a repeated event_id counts as a duplicate."
    )
    retention_days: list[Annotated[int, Field(gt=0)]] = Field(
        [1, 7, 14, 30],
        min_length=1,
        description="N of the N-day retention /mobile/retention answers for each cohort.",
    )
    event_roles: EventRoles = Field(
        default_factory=EventRoles,
        description="Track event names counted as app opens, backgrounds, screen views, taps, "
        "adds to cart, purchases and crashes (Segment's spec names beside the SDK's own).",
    )
