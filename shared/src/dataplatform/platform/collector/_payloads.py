"""What a request says besides its items' fields: its write key, its batch, its `sentAt`."""

import base64
import binascii
from datetime import datetime
from typing import Any

from starlette.requests import Request

from dataplatform.platform.collector._body import RequestRefusedError
from dataplatform.platform.collector._wire import ItemError, parse_timestamp


def basic_auth_user(request: Request) -> str | None:
    """The user name of HTTP Basic credentials (a write key), or None without any."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise RequestRefusedError(
            401, "invalid_write_key", "The Basic credentials cannot be read."
        ) from None
    return decoded.split(":", 1)[0]


def json_object(body: Any) -> dict[str, Any]:
    """`body` if it is a JSON object; a 400 otherwise."""
    if not isinstance(body, dict):
        raise RequestRefusedError(
            400, "invalid_body", f"The body must be a JSON object, not {type(body).__name__}."
        )
    return body


def segment_batch(body: dict[str, Any]) -> list[Any]:
    """A batch body's items, each under the batch's own `context` and `integrations`."""
    items = body.get("batch")
    if not isinstance(items, list):
        raise RequestRefusedError(
            400, "invalid_body", "`batch` must be a list of events.", field="batch"
        )
    shared = {
        key: body[key] for key in ("context", "integrations") if isinstance(body.get(key), dict)
    }
    return [_with_batch_fields(item, shared) for item in items]


def _with_batch_fields(item: Any, shared: dict[str, dict[str, Any]]) -> Any:
    """Batch-level `context` and `integrations` under each item's own (the item's keys win)."""
    if not isinstance(item, dict) or not shared:
        return item
    merged = dict(item)
    for key, batch_value in shared.items():
        own = item.get(key)
        merged[key] = {**batch_value, **own} if isinstance(own, dict) else batch_value
    return merged


def request_sent_at(body: dict[str, Any], field: str) -> datetime | None:
    """The request-level `sentAt` / `sent_at`, or a 400 naming it when it is no timestamp."""
    try:
        return parse_timestamp(body.get(field), field)
    except ItemError as error:
        raise RequestRefusedError(400, "invalid_event", error.reason, field=field) from None


def posthog_items(body: Any) -> tuple[list[Any], Any, datetime | None]:
    """Items, API key and batch `sent_at` from any of the shapes PostHog SDKs send."""
    if isinstance(body, list):  # posthog-js sends a bare array, the key in each item's token
        first = body[0] if body and isinstance(body[0], dict) else {}
        return body, first.get("api_key") or _token(first), None
    body = json_object(body)
    sent_at = request_sent_at(body, "sent_at")
    if "batch" in body:
        if not isinstance(body["batch"], list):
            raise RequestRefusedError(
                400, "invalid_body", "`batch` must be a list of events.", field="batch"
            )
        return body["batch"], body.get("api_key"), sent_at
    return [body], body.get("api_key") or _token(body), sent_at


def _token(item: dict[str, Any]) -> Any:
    properties = item.get("properties")
    return properties.get("token") if isinstance(properties, dict) else None
