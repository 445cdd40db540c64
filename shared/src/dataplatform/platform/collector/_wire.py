"""Segment / RudderStack and PostHog items, normalised into the canonical envelope.

Each function takes one item as sent by an SDK and returns a row of `ENVELOPE_SCHEMA`, or raises
`ItemError` naming the field that is wrong. Nothing here does I/O. Write keys are dropped from
what is stored: the row's `source_id` already says who sent it, and a key kept in `raw` would
reach every reader of bronze (and the Delta log's file statistics).
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from dataplatform.core.events import EVENT_TYPES

Row = dict[str, Any]
SURFACE = "_surface"
# Where SDKs put the write key: Segment's `writeKey`, PostHog's `api_key`, posthog-js's `token`
# (in `properties`); each is dropped from the item's top level and from its properties.
CREDENTIAL_FIELDS = ("writeKey", "api_key", "token")
_SENT_AT_FIELD = {"segment": "sentAt", "posthog": "sent_at"}


class ItemError(ValueError):
    """One item cannot be accepted; `field` names what is wrong.

    A single-event request answers `status` with problem `code` and the `extensions`; a batch
    quarantines the item instead.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        status: int = 400,
        code: str = "invalid_event",
        **extensions: Any,
    ) -> None:
        super().__init__(f"`{field}` {reason}")
        self.field = field
        self.reason = f"`{field}` {reason}"
        self.status = status
        self.code = code
        self.extensions = extensions


def without_credentials(item: Any) -> Any:
    """`item` without the write keys SDKs send inside it (see `CREDENTIAL_FIELDS`)."""
    if not isinstance(item, dict):
        return item
    cleaned = {key: value for key, value in item.items() if key not in CREDENTIAL_FIELDS}
    properties = cleaned.get("properties")
    if isinstance(properties, dict) and any(key in properties for key in CREDENTIAL_FIELDS):
        cleaned["properties"] = {
            key: value for key, value in properties.items() if key not in CREDENTIAL_FIELDS
        }
    return cleaned


def parse_timestamp(value: Any, field: str) -> datetime | None:
    """An ISO 8601 string as an aware UTC datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemError(field, f"must be an ISO 8601 string, not {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError(field, f"is not an ISO 8601 timestamp: {value!r}") from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is a year-0 instant in UTC
        raise ItemError(field, f"is outside the years 1 to 9999 once in UTC: {value!r}") from None


def skew_corrected(
    received_at: datetime,
    sent_at: datetime | None,
    original: datetime | None,
    sent_at_field: str = "sentAt",
) -> datetime:
    """When the event happened by the server's clock: the client's clock error is removed."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    clock_error = sent_at - original
    try:
        return received_at - clock_error
    except OverflowError:
        raise ItemError(
            sent_at_field,
            f"is {abs(clock_error.days)} days from the event's timestamp; no device clock is "
            "that wrong, so the event's time cannot be corrected",
        ) from None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _optional_string(item: dict[str, Any], field: str) -> str | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # SDKs accept numeric ids; they are ids, not numbers
    if not isinstance(value, str):
        raise ItemError(field, f"must be a string, not {type(value).__name__}")
    return value


def _mapping(item: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = item.get(field)
    if value is not None and not isinstance(value, dict):
        raise ItemError(field, f"must be an object, not {type(value).__name__}")
    return value


def _envelope(
    *,
    item: dict[str, Any],
    event_type: str,
    event: str | None,
    user_id: str | None,
    anonymous_id: str | None,
    event_id: str | None,
    original: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    source_id: str,
    wire_format: str,
    context: dict[str, Any] | None,
    properties: dict[str, Any] | None,
) -> Row:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "event": event,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "timestamp": skew_corrected(received_at, sent_at, original, _SENT_AT_FIELD[wire_format]),
        "original_timestamp": original,
        "sent_at": sent_at,
        "received_at": received_at,
        "source_id": source_id,
        "wire_format": wire_format,
        "context": _json(context),
        "properties": _json(properties),
        "raw": orjson.dumps(item).decode(),
        # Not a column: which kind of product a server-side event belongs to (see `route`).
        SURFACE: _surface(context),
    }


def from_segment(
    item: Any,
    *,
    received_at: datetime,
    source_id: str,
    batch_sent_at: datetime | None = None,
    default_type: str | None = None,
) -> Row:
    """One Segment / RudderStack item (track, page, screen, identify, group, alias)."""
    if not isinstance(item, dict):
        raise ItemError("item", f"must be an object, not {type(item).__name__}")
    item = without_credentials(item)
    event_type = item.get("type") or default_type
    if event_type is None:
        raise ItemError("type", "is required on every batch item")
    if event_type not in EVENT_TYPES:
        raise ItemError("type", f"must be one of {', '.join(EVENT_TYPES)}, not {event_type!r}")
    user_id = _optional_string(item, "userId")
    anonymous_id = _optional_string(item, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise ItemError("userId", "or `anonymousId` is required")
    properties = _mapping(item, "properties")
    if event_type in ("identify", "group"):
        properties = _mapping(item, "traits")
    if event_type == "group":
        properties = {"groupId": _optional_string(item, "groupId"), "traits": properties}
    if event_type == "alias":
        previous = _optional_string(item, "previousId")
        if previous is None:
            raise ItemError("previousId", "is required on alias")
        properties = {"previousId": previous}
    event = _optional_string(item, "event" if event_type == "track" else "name")
    if event_type == "track" and event is None:
        raise ItemError("event", "is required on track")
    return _envelope(
        item=item,
        event_type=event_type,
        event=event,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event_id=_optional_string(item, "messageId"),
        original=parse_timestamp(
            item.get("originalTimestamp", item.get("timestamp")),
            "originalTimestamp" if "originalTimestamp" in item else "timestamp",
        ),
        sent_at=parse_timestamp(item.get("sentAt"), "sentAt") or batch_sent_at,
        received_at=received_at,
        source_id=source_id,
        wire_format="segment",
        context=_mapping(item, "context"),
        properties=properties,
    )


_POSTHOG_TYPES = {
    "$identify": "identify",
    "$set": "identify",
    "$pageview": "page",
    "$screen": "screen",
    "$create_alias": "alias",
    "$groupidentify": "group",
}


def from_posthog(
    item: Any,
    *,
    received_at: datetime,
    source_id: str,
    batch_sent_at: datetime | None = None,
) -> Row:
    """One PostHog capture item; `$identify` and `$set` become identify events."""
    if not isinstance(item, dict):
        raise ItemError("item", f"must be an object, not {type(item).__name__}")
    item = without_credentials(item)
    name = _optional_string(item, "event")
    if name is None:
        raise ItemError("event", "is required")
    raw_properties = _mapping(item, "properties") or {}
    distinct_id = _optional_string(item, "distinct_id") or _optional_string(
        raw_properties, "distinct_id"
    )
    if distinct_id is None:
        raise ItemError("distinct_id", "is required")
    event_type = _POSTHOG_TYPES.get(name, "track")
    context, properties = _split_posthog_properties(raw_properties)
    if event_type == "identify":
        # `$set` travels at the item's top level from server SDKs, in properties from posthog-js.
        traits = item.get("$set", raw_properties.get("$set"))
        properties = traits if isinstance(traits, dict) else {}
    return _envelope(
        item=item,
        event_type=event_type,
        event=name if event_type in ("track", "page", "screen") else None,
        user_id=distinct_id,
        anonymous_id=_optional_string(raw_properties, "$anon_distinct_id")
        or _optional_string(raw_properties, "$device_id"),
        event_id=_optional_string(item, "uuid"),
        original=parse_timestamp(item.get("timestamp"), "timestamp"),
        sent_at=parse_timestamp(item.get("sent_at"), "sent_at") or batch_sent_at,
        received_at=received_at,
        source_id=source_id,
        wire_format="posthog",
        context=context,
        properties=properties,
    )


def _split_posthog_properties(
    properties: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """PostHog mixes SDK context (`$os`, `$current_url`) into properties; separate the two.

    The context gets Segment's shape where one exists (`app`, `page`), so routing and models read
    one layout whatever the wire format.
    """
    context: dict[str, Any] = {
        key: value for key, value in properties.items() if key.startswith("$")
    }
    plain = {key: value for key, value in properties.items() if not key.startswith("$")}
    if "$app_version" in context or "$app_name" in context:
        context["app"] = {
            "name": context.get("$app_name"),
            "version": context.get("$app_version"),
            "build": context.get("$app_build"),
        }
    if "$current_url" in context:
        context["page"] = {"url": context["$current_url"], "referrer": context.get("$referrer")}
    return context, plain


def _surface(context: dict[str, Any] | None) -> str | None:
    """`app` or `page`, from the context an SDK attached; None when it says neither."""
    if context and "app" in context:
        return "app"
    if context and "page" in context:
        return "page"
    return None
