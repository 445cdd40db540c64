"""The outermost layer of every request: its id, its metrics, its access log line, and which app
answers it (the collector, open to any origin, or the platform's APIs).

Plain ASGI rather than `BaseHTTPMiddleware`: it adds a few microseconds per request, not a task.
"""

import logging
import time
from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataplatform.core.access import route_template
from dataplatform.core.logging import log_context
from dataplatform.core.metrics import HTTP_LATENCY_BUCKETS
from dataplatform.platform.http_context import RequestIdsAndErrors

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
    buckets=HTTP_LATENCY_BUCKETS,
)


class RequestContext:
    """Around the platform's id and error handling (`http_context`): counts each request, times it
    and writes its access log line, under the request's id."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = RequestIdsAndErrors(app, service)
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if nothing is answered at all
        started = time.perf_counter()

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            with log_context(request_id=scope["state"]["request_id"]):
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
    """Sends requests whose path's first segment is one of `first_segments` (`v1` for `/v1/t`)
    to `special`, everything else (and the lifespan) to `default`.

    By segment, not by exact path: a path `special` does not serve must still be answered by it
    (the collector's 404 carries its CORS headers; the default app's CORS would refuse the origin).
    """

    def __init__(self, default: ASGIApp, special: ASGIApp, first_segments: Iterable[str]) -> None:
        self.default = default
        self.special = special
        self.first_segments = frozenset(first_segments)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and first_segment(scope["path"]) in self.first_segments:
            await self.special(scope, receive, send)
        else:
            await self.default(scope, receive, send)


def first_segment(path: str) -> str:
    """`v1` for `/v1/t`, `e` for `/e` and `/e/`; empty for `/`."""
    return path.split("/", 2)[1] if path.startswith("/") else ""
