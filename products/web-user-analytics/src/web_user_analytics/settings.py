"""The options of web-user-analytics (config/product_config.yaml, environment, admin API): every
hook reads them from its product context, typed by `WebUserAnalyticsSettings`."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from dataplatform.core.alerting import AlertSettings
from web_user_analytics.funnels import FunnelDefinition


class WebUserAnalyticsSettings(AlertSettings):
    """Options of web-user-analytics, set in config/product_config.yaml."""

    session_timeout_minutes: int = Field(
        30, gt=0, description="Inactivity that ends a web session."
    )
    reporting_timezone: str = Field(
        "UTC", description="Timezone whose midnight splits sessions and days."
    )
    funnel_window_days: int = Field(14, gt=0, description="Time a user has to complete a funnel.")
    exclude_bots: bool = Field(True, description="Leave known bots out of every metric.")
    conversion_events: list[str] = Field(
        ["Order Completed", "purchase"],
        description="Names of the track events that count as conversions (with their revenue).",
    )
    funnels: list[FunnelDefinition] = Field(
        default_factory=list,
        description="Funnels offered by the API besides those created through it.",
    )

    @field_validator("reporting_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA timezone name such as 'Europe/Paris'"
            ) from None
        return value

    @field_validator("conversion_events")
    @classmethod
    def _some_conversion_events(cls, names: list[str]) -> list[str]:
        # An empty list would silently zero every conversion and revenue figure.
        if not names:
            raise ValueError(
                "conversion_events needs at least one event name, such as 'Order Completed' "
                "(Segment's e-commerce spec) or 'purchase'"
            )
        blank = [index for index, name in enumerate(names) if not name.strip()]
        if blank:
            raise ValueError(f"conversion_events has a blank name at index {blank[0]}")
        return names

    @field_validator("funnels")
    @classmethod
    def _distinct_funnel_ids(cls, funnels: list[FunnelDefinition]) -> list[FunnelDefinition]:
        ids = [funnel.id for funnel in funnels]
        repeated = sorted({funnel_id for funnel_id in ids if ids.count(funnel_id) > 1})
        if repeated:
            raise ValueError(f"funnel ids must be distinct; repeated: {', '.join(repeated)}")
        return funnels
