"""PostHog request bodies: raw JSON, gzip (`?compression=gzip-js`), or a form with a `data` field.

posthog-js sends a form body (`application/x-www-form-urlencoded`, `data=<...>`) when it uses
`sendBeacon` as the page closes, and when gzip is not available: `data` holds base64 of the JSON
with `?compression=base64`, the JSON itself otherwise.
"""

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from dataplatform.platform.collector._body import (
    GZIP_COMPRESSIONS,
    RequestRefusedError,
    parse_json,
    read_body,
)

BASE64 = "base64"
ACCEPTED_COMPRESSIONS = (*GZIP_COMPRESSIONS, BASE64)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


async def read_posthog_json(request: Request, limit: int, limit_name: str) -> Any:
    """The JSON a PostHog SDK sent, in whichever of its body forms it came."""
    compression = _compression(request)
    body = await read_body(request, limit, limit_name)
    if not request.headers.get("content-type", "").startswith(FORM_CONTENT_TYPE):
        if compression == BASE64:
            return parse_json(_from_base64(body, "body"))
        return parse_json(body)
    data = _form_data(body)
    return parse_json(_from_base64(data, "data") if compression == BASE64 else data)


def _compression(request: Request) -> str | None:
    compression = request.query_params.get("compression")
    if compression not in (None, "", *ACCEPTED_COMPRESSIONS):
        raise RequestRefusedError(
            400,
            "unsupported_compression",
            f"`compression` is {compression!r}; the collector accepts "
            f"{', '.join(ACCEPTED_COMPRESSIONS)} or none (posthog-js: leave `disable_compression` "
            "off and it picks one of these).",
            field="compression",
            accepted=list(ACCEPTED_COMPRESSIONS),
        )
    return compression or None


def _form_data(body: bytes | bytearray) -> str:
    try:
        fields = parse_qs(bytes(body).decode(), max_num_fields=100, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRefusedError(
            400, "invalid_body", f"The form body cannot be read: {exc}", field="data"
        ) from None
    values = fields.get("data")
    if not values:
        raise RequestRefusedError(
            400,
            "invalid_body",
            "The form body has no `data` field; send `data=<JSON or base64 JSON>`.",
            field="data",
        )
    return values[0]


def _from_base64(data: str | bytes | bytearray, field: str) -> bytes:
    # A `+` sent unescaped reads as a space in a form; base64 has no spaces, so put it back.
    text = data.replace(" ", "+") if isinstance(data, str) else bytes(data).strip()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestRefusedError(
            400,
            "invalid_body",
            f"`{field}` is not base64 (`?compression=base64` says it is): {exc}",
            field=field,
        ) from None
