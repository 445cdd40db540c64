"""Reading a request body within limits: streamed, decompressed with a cap, parsed as JSON.

A body is refused as soon as it passes its limit, compressed or not, so neither a large upload
nor a gzip bomb can make the collector hold more than the limit in memory.
"""

import zlib
from typing import Any

import orjson
from starlette.requests import Request

GZIP_MAGIC = b"\x1f\x8b"
# posthog-js says `gzip-js`; PostHog's other SDKs and its server also know `gzip`.
GZIP_COMPRESSIONS = ("gzip-js", "gzip")
_CHUNK = 64 * 1024


class RequestRefusedError(Exception):
    """A request-level problem: the whole request is refused and nothing is stored."""

    def __init__(self, status: int, code: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extensions = extensions


def too_large(what: str, limit: int) -> RequestRefusedError:
    return RequestRefusedError(
        413,
        "payload_too_large",
        f"{what} is over the limit of {limit} bytes.",
        limit=limit,
        limit_name=what,
    )


async def read_json(request: Request, limit: int, limit_name: str) -> Any:
    """The body as JSON, decompressing gzip (by header, `?compression=gzip-js` or magic bytes)."""
    return parse_json(await read_body(request, limit, limit_name))


async def read_body(request: Request, limit: int, limit_name: str) -> bytes | bytearray:
    """The body's bytes, gunzipped when it says or shows it is gzip; never more than `limit`."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise too_large(limit_name, limit)
    compressed = (
        request.headers.get("content-encoding", "").lower() == "gzip"
        or request.query_params.get("compression") in GZIP_COMPRESSIONS
        or raw.startswith(GZIP_MAGIC)
    )
    return _gunzip(raw, limit, limit_name) if compressed else raw


def parse_json(body: bytes | bytearray | str) -> Any:
    """`body` parsed as JSON, or a 400 saying why it cannot be."""
    if not body or body.isspace():
        raise RequestRefusedError(
            400, "invalid_json", "The request body is empty; send a JSON object."
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRefusedError(
            400, "invalid_json", f"The request body is not valid JSON: {exc}"
        ) from None


def _gunzip(data: bytearray, limit: int, limit_name: str) -> bytearray:
    """Every gzip member in turn (RFC 1952 allows several, and `cat a.gz b.gz` makes them)."""
    output = bytearray()
    remaining: bytes | bytearray = data
    try:
        while True:
            remaining = _inflate_member(remaining, output, limit, limit_name)
            if not remaining:
                return output
            if not remaining.startswith(GZIP_MAGIC):
                raise RequestRefusedError(
                    400,
                    "invalid_gzip",
                    f"The body has {len(remaining)} bytes after the end of its gzip data; "
                    "send the gzip stream alone.",
                )
    except zlib.error as exc:
        raise RequestRefusedError(
            400, "invalid_gzip", f"The gzip body cannot be read: {exc}"
        ) from None


def _inflate_member(
    data: bytes | bytearray, output: bytearray, limit: int, limit_name: str
) -> bytes:
    """Inflate one gzip member onto `output`, never past `limit`; returns the bytes after it."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pending: bytes | bytearray = data
    while not inflater.eof:
        chunk = inflater.decompress(pending, limit + 1 - len(output))
        output += chunk
        if len(output) > limit:
            raise too_large(f"{limit_name} (decompressed)", limit)
        pending = inflater.unconsumed_tail
        if not chunk and not pending:
            raise RequestRefusedError(400, "invalid_gzip", "The gzip body is truncated.")
    return inflater.unused_data
