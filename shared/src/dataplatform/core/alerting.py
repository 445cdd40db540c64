"""Alerts sent to webhooks: where (`Webhook`, in a product's `alert_webhooks` setting), how often
and how hard to try (`AlertSettings`), and one delivery's tries (`deliver`).

Operational-metrics sends its SLO incidents this way, and a product's insights their trend
alerts: one configuration and one retry and dead-letter rule for every alert a receiver gets.
A delivery is POSTed up to `alert_attempts_per_run` times in a run with exponential backoff,
signed as every webhook delivery is (`dataplatform.core.signing`); one not delivered is tried
again next run, and after `alert_max_attempts` tries over every run it is `dead`.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx2 as httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataplatform.core.config import ProductSettings
from dataplatform.core.signing import webhook_headers

TIMEOUT_SECONDS = 10.0
# A delivery in one of these is never sent again.
SETTLED = ("delivered", "silenced", "dead")


class Webhook(BaseModel):
    """Where alerts are sent: a URL, the payload's shape, and the HMAC secret's variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Names the destination.")
    url: str = Field(pattern=r"^https?://", max_length=2000, description="The endpoint POSTed to.")
    format: Literal["slack", "generic"] = Field(
        "generic",
        description="`slack`: a Slack-compatible `{text}` message; `generic`: the alert as JSON.",
    )
    secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="The environment variable holding the HMAC secret each request is signed "
        "with (`X-Dataplatform-Signature`); never the secret itself, which config would show.",
    )


class AlertSettings(ProductSettings):
    """The settings of a product that sends alerts."""

    alert_webhooks: list[Webhook] = Field(
        default_factory=list, description="Where the product's alerts are sent."
    )
    alerts_every_seconds: float = Field(
        30, gt=0, description="How often alerts are checked and their news sent."
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


def deliver(
    settings: AlertSettings,
    webhook: Webhook,
    delivery_id: str,
    body: bytes,
    before: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """This run's tries of one delivery (`before`: its record after the last run), as the
    fields of its new record: `status` (`delivered`, `failed`, `dead`), `attempts` over every
    run, the last `http_status` and `error`, and `delivered_at`."""
    try:
        headers = webhook_headers(
            delivery_id, body, webhook.secret_env, f"Webhook `{webhook.name}`"
        )
        delivered, tries, http_status, error = _post(
            webhook.url,
            body,
            headers,
            tries=settings.alert_attempts_per_run,
            backoff_seconds=settings.alert_backoff_seconds,
        )
    except LookupError as missing:  # the signing secret's variable is not set
        delivered, tries, http_status, error = False, 1, None, str(missing)
    attempts = (before["attempts"] if before else 0) + tries
    status = (
        "delivered"
        if delivered
        else "dead"
        if attempts >= settings.alert_max_attempts
        else "failed"
    )
    return {
        "status": status,
        "attempts": attempts,
        "http_status": http_status,
        "error": error,
        "delivered_at": datetime.now(UTC) if delivered else None,
    }


def _post(
    url: str, body: bytes, headers: Mapping[str, str], *, tries: int, backoff_seconds: float
) -> tuple[bool, int, int | None, str | None]:
    """POST `body` up to `tries` times, waiting `backoff_seconds` and doubling between tries;
    a 2xx is delivered, anything else (or no answer) is tried again. (delivered, tries, last
    status, last error)."""
    outcome: dict[str, Any] = {"tries": 0, "http_status": None, "error": None}

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(tries),
        wait=tenacity.wait_exponential(multiplier=backoff_seconds, max=60),
        retry=tenacity.retry_if_result(lambda delivered: not delivered),
        retry_error_callback=lambda _state: False,
    )
    def attempt() -> bool:
        outcome["tries"] += 1
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            outcome.update(http_status=None, error=f"{type(error).__name__}: {error}")
            return False
        outcome["http_status"] = response.status_code
        outcome["error"] = None if response.is_success else response.text[:500]
        return response.is_success

    delivered = attempt()
    return delivered, outcome["tries"], outcome["http_status"], outcome["error"]


class BurnRateSettings(AlertSettings):
    """The SLO burn-rate alerts, as the SRE workbook's multi-window alerts: one fires when the
    error budget burns faster than its rate over both its long and its short window.

    Declared once, by the product that evaluates SLOs (operational-metrics): its own incidents
    and the Prometheus rules generated for every product (`dataplatform infra generate`)
    follow the same rates and windows.
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
    def _short_windows_are_shorter(self) -> "BurnRateSettings":
        for alert in ("fast", "slow"):
            short = getattr(self, f"{alert}_burn_short_window_minutes")
            long = getattr(self, f"{alert}_burn_long_window_minutes")
            if short >= long:
                raise ValueError(
                    f"`{alert}_burn_short_window_minutes` ({short}) must be shorter than "
                    f"`{alert}_burn_long_window_minutes` ({long})"
                )
        return self
