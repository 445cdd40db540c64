"""The options of operational-metrics (config/product_config.yaml, environment, admin API)."""

from pydantic import Field, model_validator

from dataplatform.core.alerting import AlertSettings


class OperationalMetricsSettings(AlertSettings):
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
