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
from dataplatform.platform.collector._client_ip import ClientIp

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
    client_ip: ClientIp | None = None,
) -> Row:
    """One Segment / RudderStack item (track, page, screen, identify, group, alias).

    With `client_ip`, `context.ip` is the address that rule records (see `_client_ip`).
    """
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
    context = _mapping(item, "context")
    if client_ip is not None:
        context = _segment_context_with_ip(item, context, client_ip)
    properties = _mapping(item, "properties")
    if event_type in ("identify", "group"):
        # RudderStack's browser SDK sends an identify's traits in `context.traits` only.
        properties = _mapping(item, "traits")
        if properties is None and context is not None:
            properties = _mapping(context, "traits")
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
        context=context,
        properties=properties,
    )


def _segment_context_with_ip(
    item: dict[str, Any], context: dict[str, Any] | None, client_ip: ClientIp
) -> dict[str, Any] | None:
    """`context` with the `ip` the rule records; an address the SDK sent is reduced in raw too."""
    sent = context.get("ip") if context else None
    ip = client_ip.record(sent)
    if ip == sent:
        return context
    reduced = _with_ip(context, "ip", ip)
    if sent is not None and sent != "":
        item["context"] = reduced  # `item` is the collector's own copy (`without_credentials`)
    return reduced


def _with_ip(mapping: dict[str, Any] | None, key: str, ip: str | None) -> dict[str, Any]:
    updated = dict(mapping or {})
    if ip is None:
        updated.pop(key, None)
    else:
        updated[key] = ip
    return updated


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
    client_ip: ClientIp | None = None,
) -> Row:
    """One PostHog capture item; `$identify` and `$set` become identify events.

    With `client_ip`, `context.ip` is the address that rule records from `$ip` or the connection.
    """
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
    _record_posthog_ip(item, raw_properties, context, client_ip)
    anonymous_id = _optional_string(raw_properties, "$anon_distinct_id") or _optional_string(
        raw_properties, "$device_id"
    )
    user_id: str | None = distinct_id
    if event_type == "identify":
        # `$set` travels at the item's top level from server SDKs, in properties from posthog-js.
        traits = item.get("$set", raw_properties.get("$set"))
        properties = traits if isinstance(traits, dict) else {}
    elif raw_properties.get("$is_identified") is False:
        # posthog-js sends its own random id as `distinct_id` until `identify`: not a user id.
        user_id, anonymous_id = None, anonymous_id or distinct_id
    return _envelope(
        item=item,
        event_type=event_type,
        event=name if event_type in ("track", "page", "screen") else None,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event_id=_optional_string(item, "uuid"),
        original=parse_timestamp(item.get("timestamp"), "timestamp"),
        sent_at=parse_timestamp(item.get("sent_at"), "sent_at") or batch_sent_at,
        received_at=received_at,
        source_id=source_id,
        wire_format="posthog",
        context=context,
        properties=properties,
    )


# posthog-js's own bookkeeping (how and when it sent, its rate limiter, its persistence): it says
# nothing about the event, so it stays in `raw` only. `$lib`/`$lib_version` become
# `context.library`, `distinct_id` is the row's `user_id`, `$ip` becomes `context.ip`.
POSTHOG_BOOKKEEPING = frozenset(
    {
        "distinct_id",
        "$ip",
        "$lib",
        "$lib_version",
        "$lib_rate_limit_remaining_tokens",
        "$lib_custom_api_host",
        "$insert_id",
        "$time",
        "$sent_at",
        "$configured_session_timeout_ms",
        "$config_defaults",
        "$process_person_profile",
        "$is_identified",
        "$had_persisted_distinct_id",
        "$initialization_time",
        "$ce_version",
        "$sdk_dist_channel",
        "$recording_status",
    }
)
POSTHOG_BOOKKEEPING_PREFIX = "$sdk_debug_"
# Its echo of the remote config (`$autocapture_disabled_server_side`, ...).
POSTHOG_BOOKKEEPING_SUFFIXES = ("_enabled_server_side", "_disabled_server_side")
# Click ids and campaign parameters posthog-js reads from the URL: sent as null when absent.
CAMPAIGN_PARAMETERS = frozenset(
    {
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "gclid",
        "gad_source",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "fbclid",
        "msclkid",
        "twclid",
        "li_fat_id",
        "mc_cid",
        "igshid",
        "ttclid",
        "rdt_cid",
        "epik",
        "qclid",
        "sccid",
        "irclid",
        "_kx",
        "oppref",
        "bfcid",
    }
)
# posthog-js sends the URL's campaign as plain properties; Segment's context says it as
# `campaign`, its `name` being utm_campaign.
CAMPAIGN_FIELDS = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
# What an autocaptured interaction is about (the element clicked, its text, the link it
# followed): the event's own properties, not the SDK's context.
AUTOCAPTURE_PROPERTIES = frozenset(
    {
        "$event_type",
        "$elements",
        "$elements_chain",
        "$el_text",
        "$external_click_url",
        "$element_selectors",
    }
)


def _split_posthog_properties(
    properties: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """PostHog mixes SDK context (`$os`, `$current_url`) into properties; separate the two.

    The context gets Segment's shape where one exists (`app`, `page`, `library`), so routing and
    models read one layout whatever the wire format; bookkeeping goes to neither.
    """
    context: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for key, value in properties.items():
        if (
            key in POSTHOG_BOOKKEEPING
            or key.startswith(POSTHOG_BOOKKEEPING_PREFIX)
            or key.endswith(POSTHOG_BOOKKEEPING_SUFFIXES)
        ):
            continue
        if value is None and key in CAMPAIGN_PARAMETERS:
            continue
        if key.startswith("$") and key not in AUTOCAPTURE_PROPERTIES:
            context[key] = value
        else:
            plain[key] = value
    if "$lib" in properties:
        context["library"] = {"name": properties["$lib"], "version": properties.get("$lib_version")}
    if "$app_version" in context or "$app_name" in context:
        context["app"] = {
            "name": context.get("$app_name"),
            "version": context.get("$app_version"),
            "build": context.get("$app_build"),
        }
    if "$current_url" in context:
        context["page"] = {
            "url": context["$current_url"],
            "path": context.get("$pathname"),
            "referrer": context.get("$referrer"),
            "title": context.get("$title"),
        }
    if "$raw_user_agent" in context:
        context["userAgent"] = context["$raw_user_agent"]
    campaign = {
        field: plain[parameter]
        for parameter, field in CAMPAIGN_FIELDS.items()
        if plain.get(parameter) is not None
    }
    if campaign:
        context["campaign"] = campaign
    return context, plain


def _record_posthog_ip(
    item: dict[str, Any],
    properties: dict[str, Any],
    context: dict[str, Any],
    client_ip: ClientIp | None,
) -> None:
    """`context.ip` as the rule records it; a `$ip` the SDK sent is reduced in raw too."""
    sent = properties.get("$ip")
    ip = sent if client_ip is None else client_ip.record(sent)
    if ip is not None:
        context["ip"] = ip
    if sent is not None and sent != "" and ip != sent:
        item["properties"] = _with_ip(properties, "$ip", ip)


def _surface(context: dict[str, Any] | None) -> str | None:
    """`page` or `app`, from the context an SDK attached; None when it says neither.

    `page` wins: a browser SDK may name itself in `context.app` (RudderStack's does), but only a
    web page has a `context.page`.
    """
    if context and "page" in context:
        return "page"
    if context and "app" in context:
        return "app"
    return None
