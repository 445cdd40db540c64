"""The options of operational-metrics (config/product_config.yaml, environment, admin API)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataplatform.core.config import ProductSettings


class AlertWebhook(BaseModel):
    """Where incidents are sent: a URL, the payload's shape, and the HMAC secret's variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Names the destination.")
    url: str = Field(pattern=r"^https?://", max_length=2000, description="The endpoint POSTed to.")
    format: Literal["slack", "generic"] = Field(
        "generic",
        description="`slack`: a Slack-compatible `{text}` message; `generic`: the incident as JSON.",
    )
    secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="The environment variable holding the HMAC secret each request is signed "
        "with (`X-Dataplatform-Signature`); never the secret itself, which config would show.",
    )


class OperationalMetricsSettings(ProductSettings):
    """Options of operational-metrics, set in config/product_config.yaml.

    Burn-rate alerts follow the SRE workbook's multi-window alerts: an alert fires when the
    error budget burns faster than its rate over both its long and its short window.
    """

    fast_burn_rate: float = Field(
        14.4, gt=1, description="Burn rate over which a fast-burn alert fires (both windows)."
    )
    fast_burn_long_window_minutes: int = Field(
        60, gt=0, description="Long window of the fast-burn alert."
    )
    fast_burn_short_window_minutes: int = Field(
        5,
        gt=0,
        description="Short window of the fast-burn alert; below the rate there, it resolves.",
    )
    slow_burn_rate: float = Field(
        6.0, gt=1, description="Burn rate over which a slow-burn alert fires (both windows)."
    )
    slow_burn_long_window_minutes: int = Field(
        360, gt=0, description="Long window of the slow-burn alert."
    )
    slow_burn_short_window_minutes: int = Field(
        30,
        gt=0,
        description="Short window of the slow-burn alert; below the rate there, it resolves.",
    )

    alert_webhooks: list[AlertWebhook] = Field(
        default_factory=list, description="Where incidents' openings and resolutions are sent."
    )
    alerts_every_seconds: float = Field(
        30, gt=0, description="How often new incident openings and resolutions are sent."
    )
    alert_attempts_per_run: int = Field(
        3, ge=1, le=10, description="Tries per delivery in one run, with exponential backoff."
    )
    alert_backoff_seconds: float = Field(
        1.0, gt=0, le=60, description="Wait before the second try of a run; doubled each try."
    )
    alert_max_attempts: int = Field(
        12,
        ge=1,
        le=1000,
        description="Tries over every run before a delivery is dead-lettered (status `dead`).",
    )

    @model_validator(mode="after")
    def _short_windows_are_shorter(self) -> "OperationalMetricsSettings":
        for alert in ("fast", "slow"):
            short = getattr(self, f"{alert}_burn_short_window_minutes")
            long = getattr(self, f"{alert}_burn_long_window_minutes")
            if short >= long:
                raise ValueError(
                    f"`{alert}_burn_short_window_minutes` ({short}) must be shorter than "
                    f"`{alert}_burn_long_window_minutes` ({long})"
                )
        return self
