"""What every HTTP app of the platform gives a request, whether the gateway serves it or the
collector runs alone: an id (the client's `X-Request-ID` when it is sane, echoed back and attached
to every log record), and for an error the app did not handle, a problem+json 500 naming that id,
logged and counted. Never Starlette's plain-text page, never a stack trace.

Plain ASGI: an `Exception` handler would run in Starlette's outermost middleware, after the
request's log context is gone and around, not through, the layer that echoes the id.
"""

import logging
import random
import re
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataplatform.core.logging import log_context

logger = logging.getLogger(__name__)

INTERNAL_ERRORS = Counter(
    "dataplatform_http_internal_errors_total",
    "Requests that failed with an error no handler expected, by service and error type.",
    ["service", "error"],
)
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(scope: Scope) -> str:
    """The client's `X-Request-ID` when it is sane, else a new random id."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: Any = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return str(candidate)
            break
    # Random, not secret: a request id needs uniqueness, and `getrandbits` needs no system call
    # (uuid4 reads the OS's random source for every request).
    return f"{random.getrandbits(128):032x}"


def record_internal_error(service: str, scope: Scope, error: Exception) -> None:
    """Log `error` with its stack trace (under the request's id, from the log context) and count it."""
    INTERNAL_ERRORS.labels(service, type(error).__name__).inc()
    logger.error(
        "unhandled %s in %s %s",
        type(error).__name__,
        scope["method"],
        scope["path"],
        exc_info=error,
    )


async def send_internal_error(scope: Scope, request_id: str, send: Send) -> None:
    """Answer 500 `/problems/internal_error` naming `request_id`, where the error is logged."""
    body = orjson.dumps(
        {
            "type": "/problems/internal_error",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "The server failed to answer; the error is logged under this request id.",
            "instance": scope["path"],
            "request_id": request_id,
        }
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestIdsAndErrors:
    """Inside an app: the request's id (the one an outer gateway gave it, else its own, echoed in
    `X-Request-ID`), and a problem+json 500 for any error the app leaves unhandled."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        given = state.get("request_id")  # the gateway's, which also echoes it
        request_id = given or request_id_for(scope)
        state["request_id"] = request_id
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
                if given is None:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                record_internal_error(self.service, scope, error)
                if not responded:
                    await send_internal_error(scope, request_id, send_with_id)
