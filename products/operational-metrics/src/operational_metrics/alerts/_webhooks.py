"""One incident event as a webhook request: its payload (Slack-compatible or generic), signed
as every webhook delivery is (`dataplatform.core.signing`), and the POST, tried again with
exponential backoff. A delivery whose answer was lost is sent again on the next run, under the
same `X-Dataplatform-Delivery`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import orjson
import tenacity

from dataplatform.core.signing import webhook_headers
from operational_metrics.settings import AlertWebhook

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Attempted:
    """How the tries of one run went: delivered or not, the last status or error, how many."""

    delivered: bool
    attempts: int
    http_status: int | None
    error: str | None


def payload(
    webhook: AlertWebhook, delivery_id: str, event: str, incident: Mapping[str, Any]
) -> bytes:
    """The request body for `webhook`: a Slack message, or the incident as JSON."""
    if webhook.format == "slack":
        return orjson.dumps({"text": _slack_text(event, incident)})
    return orjson.dumps(
        {"delivery_id": delivery_id, "event": event, "incident": dict(incident)},
        default=str,
        option=orjson.OPT_NAIVE_UTC,
    )


def _slack_text(event: str, incident: Mapping[str, Any]) -> str:
    where = f"{incident['product']} SLO `{incident['slo']}` ({incident['severity']} burn)"
    if event == "resolved":
        return f":white_check_mark: Resolved: {where}, open since {incident['opened_at']}."
    return (
        f":rotating_light: {where} is burning its error budget "
        f"{incident['burn_rate']:.1f}x too fast since {incident['opened_at']}."
    )


def send(
    webhook: AlertWebhook, delivery_id: str, body: bytes, *, tries: int, backoff_seconds: float
) -> Attempted:
    """POST `body` up to `tries` times, waiting `backoff_seconds` and doubling between tries;
    a 2xx is delivered, anything else (or no answer) is tried again."""
    outcome: dict[str, Any] = {"attempts": 0, "http_status": None, "error": None}

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(tries),
        wait=tenacity.wait_exponential(multiplier=backoff_seconds, max=60),
        retry=tenacity.retry_if_result(lambda delivered: not delivered),
        retry_error_callback=lambda _state: False,
    )
    def attempt() -> bool:
        outcome["attempts"] += 1
        try:
            response = httpx.post(
                webhook.url,
                content=body,
                headers=webhook_headers(
                    delivery_id, body, webhook.secret_env, f"Alert webhook `{webhook.name}`"
                ),
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as error:
            outcome.update(http_status=None, error=f"{type(error).__name__}: {error}")
            return False
        outcome["http_status"] = response.status_code
        outcome["error"] = None if response.is_success else response.text[:500]
        return response.is_success

    delivered = attempt()
    return Attempted(delivered, outcome["attempts"], outcome["http_status"], outcome["error"])
