"""The outermost layer of every request: its id, its metrics, its access log line, and which app
answers it (the collector, open to any origin, or the platform's APIs).

Plain ASGI rather than `BaseHTTPMiddleware`: it adds a few microseconds per request, not a task.
"""

import logging
import random
import re
import time
from collections.abc import Iterable
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataplatform.core.access import route_template
from dataplatform.core.logging import log_context

access_log = logging.getLogger("dataplatform.access")

REQUESTS = Counter(
    "dataplatform_http_requests_total",
    "HTTP requests answered, by service, route template, method and status.",
    ["service", "route", "method", "status"],
)
LATENCY = Histogram(
    "dataplatform_http_request_duration_seconds",
    "Time from request to the end of the response, by service and route template.",
    ["service", "route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
)
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Gives each request an id (the client's `X-Request-ID` when it is sane), echoes it in the
    response, logs the request and counts it; answers an unhandled error with a bare 500 problem,
    the stack trace going to the log only."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        responded = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                access_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
                if not responded:
                    await _internal_error(scope, request_id, send_with_id)
            finally:
                self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = scope["method"]
        REQUESTS.labels(self.service, route, method, str(status)).inc()
        LATENCY.labels(self.service, route, method).observe(seconds)
        principal = scope.get("state", {}).get("principal")
        access_log.info(
            "%s %s %d",
            method,
            scope["path"],
            status,
            extra={
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "caller": getattr(principal, "subject", None),
            },
        )


class PathDispatch:
    """Sends requests for `paths` to `special`, everything else (and the lifespan) to `default`."""

    def __init__(self, default: ASGIApp, special: ASGIApp, paths: Iterable[str]) -> None:
        self.default = default
        self.special = special
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.special(scope, receive, send)
        else:
            await self.default(scope, receive, send)


async def _internal_error(scope: Scope, request_id: str, send: Send) -> None:
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


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: Any = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return str(candidate)
            break
    # Random, not secret: a request id needs uniqueness, and `getrandbits` needs no system call
    # (uuid4 reads the OS's random source for every request).
    return f"{random.getrandbits(128):032x}"
