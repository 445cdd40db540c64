"""One incident event as a webhook's request body: a Slack-compatible message or the generic
JSON. Sending, signing and retrying are every alert's (`dataplatform.core.alerting`)."""

from collections.abc import Mapping
from typing import Any

import orjson

from dataplatform.core.alerting import Webhook


def payload(webhook: Webhook, delivery_id: str, event: str, incident: Mapping[str, Any]) -> bytes:
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
