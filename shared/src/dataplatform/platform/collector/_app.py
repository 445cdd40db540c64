"""The collector: Segment / RudderStack and PostHog HTTP APIs in front of the bus.

Request-level problems (size, body, key) refuse the whole request and store nothing. Item-level
problems (a bad field, a timestamp out of the accepted window, nesting or size over a limit, even
an error the collector did not expect) fail a single-event request with 4xx, but never a batch:
SDKs drop a batch answered 4xx, which would lose its good items, so those land in bronze and the
bad ones in quarantine. A request is answered only after its rows are durable.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import anyio
import orjson
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from starlette.exceptions import HTTPException

from dataplatform.core.config import CollectorLimits
from dataplatform.core.connectors.bus import Bus
from dataplatform.core.events import ENVELOPE_SCHEMA, QUARANTINE_SCHEMA
from dataplatform.platform.collector._body import RequestRefusedError, read_json
from dataplatform.platform.collector._client_ip import ClientIp
from dataplatform.platform.collector._forms import read_posthog_json
from dataplatform.platform.collector._payloads import (
    basic_auth_user,
    json_object,
    posthog_items,
    request_sent_at,
    segment_batch,
)
from dataplatform.platform.collector._routing import EventRouter
from dataplatform.platform.collector._sdk_config import add_sdk_config_routes
from dataplatform.platform.collector._wire import (
    SURFACE,
    ItemError,
    Row,
    from_posthog,
    from_segment,
    without_credentials,
)
from dataplatform.platform.http_context import RequestIdsAndErrors
from dataplatform.platform.sources import Source, SourceRegistry

logger = logging.getLogger(__name__)

EVENTS = Counter(
    "dataplatform_collector_events_total",
    "Events received by the collector, by source and outcome.",
    ["source", "outcome"],
)
ITEM_FAILURES = Counter(
    "dataplatform_collector_item_failures_total",
    "Items quarantined because normalising them raised an error the collector did not expect "
    "(a bug to fix), by source and error type.",
    ["source", "error"],
)
SEGMENT_SINGLE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# analytics-next posts each type to its initial (`/v1/t`, ...) and a batch to `/v1/b`.
SEGMENT_SHORT_PATHS = {event_type[0]: event_type for event_type in SEGMENT_SINGLE_TYPES}
POSTHOG_PATHS = ("/batch", "/capture", "/e", "/i/v0/e")

Normaliser = Callable[[Any, datetime, str, datetime | None, ClientIp], Row]


def _segment(
    item: Any, received_at: datetime, source: str, sent_at: datetime | None, client_ip: ClientIp
) -> Row:
    return from_segment(
        item, received_at=received_at, source_id=source, batch_sent_at=sent_at, client_ip=client_ip
    )


def _posthog(
    item: Any, received_at: datetime, source: str, sent_at: datetime | None, client_ip: ClientIp
) -> Row:
    return from_posthog(
        item, received_at=received_at, source_id=source, batch_sent_at=sent_at, client_ip=client_ip
    )


def problem(request: Request, exc: RequestRefusedError) -> JSONResponse:
    body = {
        "type": f"/problems/{exc.code}",
        "title": exc.code.replace("_", " "),
        "status": exc.status,
        "detail": exc.detail,
        **exc.extensions,
        "request_id": request.state.request_id,
    }
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Collector:
    """Turns requests into envelope rows, routes them and publishes them on the bus."""

    def __init__(
        self,
        limits: CollectorLimits,
        sources: SourceRegistry,
        bus: Bus,
        router: EventRouter,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.limits = limits
        self.sources = sources
        self.bus = bus
        self.router = router
        self.clock = clock

    async def find_source(self, write_key: str | None) -> Source | None:
        """The active source holding `write_key`; None for an unknown or revoked one."""
        if not write_key:
            return None
        try:
            return self.sources.cached(write_key)
        except KeyError:  # only a cache miss blocks on the database, in a worker thread
            return await anyio.to_thread.run_sync(self.sources.lookup, write_key)

    async def authenticate(self, write_key: Any) -> Source:
        if not isinstance(write_key, str) or not write_key:
            raise RequestRefusedError(
                401,
                "missing_write_key",
                "Send the write key as HTTP Basic user name or in the body.",
            )
        source = await self.find_source(write_key)
        if source is None:
            raise RequestRefusedError(
                401, "invalid_write_key", "The write key is unknown or revoked."
            )
        return source

    async def accept(
        self,
        source: Source,
        items: list[Any],
        normalise: Normaliser,
        sent_at: datetime | None,
        *,
        wire_format: str,
        single: bool,
        client_ip: ClientIp,
    ) -> list[dict[str, Any]]:
        """Publish the valid items and quarantine the others; returns the rejected ones."""
        if len(items) > self.limits.max_batch_events:
            raise RequestRefusedError(
                413,
                "too_many_events",
                f"The batch has {len(items)} events; the limit is {self.limits.max_batch_events}.",
                limit=self.limits.max_batch_events,
                limit_name="max_batch_events",
            )
        received_at = self.clock()
        accepted: dict[str, list[Row]] = defaultdict(list)
        quarantined: list[Row] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                row = self._row(item, normalise, received_at, source, sent_at, client_ip)
            except ItemError as error:
                if single:
                    raise RequestRefusedError(
                        error.status,
                        error.code,
                        error.reason,
                        field=error.field,
                        **error.extensions,
                    ) from None
                rejected.append({"index": index, "field": error.field, "reason": error.reason})
                quarantined.append(
                    _quarantine_row(
                        item, index, error, received_at, source, wire_format, self.limits
                    )
                )
                continue
            accepted[self.router.destination(source, row.pop(SURFACE)).table].append(row)
        publishes = [
            self.bus.publish(table, ENVELOPE_SCHEMA, rows) for table, rows in accepted.items()
        ]
        if quarantined:
            quarantine = self.router.quarantine_for(source)
            publishes.append(self.bus.publish(quarantine, QUARANTINE_SCHEMA, quarantined))
        try:
            await asyncio.gather(*publishes)
        except Exception as exc:
            logger.exception("publishing %d events from %s failed", len(items), source.name)
            raise RequestRefusedError(
                503, "not_stored", "The events could not be stored; send them again."
            ) from exc
        EVENTS.labels(source.name, "accepted").inc(sum(len(rows) for rows in accepted.values()))
        EVENTS.labels(source.name, "quarantined").inc(len(quarantined))
        return rejected

    def _row(
        self,
        item: Any,
        normalise: Normaliser,
        received_at: datetime,
        source: Source,
        sent_at: datetime | None,
        client_ip: ClientIp,
    ) -> Row:
        """`item` as a bronze row, or an `ItemError` saying why it cannot be one."""
        _check_depth(item, self.limits.max_event_depth)
        try:
            row = normalise(item, received_at, source.name, sent_at, client_ip)
        except ItemError:
            raise
        except Exception as error:  # a bug in the collector must cost one item, never its batch
            ITEM_FAILURES.labels(source.name, type(error).__name__).inc()
            logger.exception("normalising an item from %s failed", source.name)
            raise ItemError(
                "item",
                f"could not be normalised: the collector raised {type(error).__name__} "
                "(a bug, logged under this request's id); the item is kept here to replay",
            ) from error
        self._check_time(row["timestamp"], received_at)
        self._check_size(row["raw"])
        return row

    def _check_time(self, timestamp: datetime, received_at: datetime) -> None:
        earliest = self.limits.earliest_event_time
        latest = received_at + self.limits.max_event_time_ahead
        if not earliest <= timestamp <= latest:
            raise ItemError(
                "timestamp",
                f"is {timestamp.isoformat()} once corrected for the device's clock, outside the "
                f"accepted {earliest.isoformat()} to {latest.isoformat()} "
                "(earliest_event_time, max_event_time_ahead)",
            )

    def _check_size(self, raw: str) -> None:
        limit = self.limits.max_event_bytes
        if len(raw) > limit:
            raise ItemError(
                "item",
                f"is {len(raw)} bytes as JSON, over the limit of {limit} bytes",
                status=413,
                code="payload_too_large",
                limit=limit,
                limit_name="max_event_bytes",
            )


def _check_depth(item: Any, limit: int) -> None:
    """Refuse an item nested deeper than `limit` levels, naming the top-level field that is."""
    fields = item.items() if isinstance(item, dict) else [("item", item)]
    levels_below_item = limit - 1 if isinstance(item, dict) else limit
    for field, value in fields:
        if _deeper_than(value, levels_below_item):
            raise ItemError(
                str(field),
                f"is nested deeper than the limit of {limit} levels of objects and lists; "
                "flatten it",
                limit=limit,
                limit_name="max_event_depth",
            )


_CONTAINERS = (dict, list)  # what orjson reads JSON objects and arrays as


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether `value` holds objects or lists more than `levels` levels deep (itself counting)."""
    if type(value) not in _CONTAINERS:
        return False
    if levels == 0:
        return True
    # A plain loop that skips scalars without a call: this runs on every item of every request.
    for child in value.values() if type(value) is dict else value:
        if type(child) in _CONTAINERS and _deeper_than(child, levels - 1):
            return True
    return False


CLIPPED = "<clipped: nested too deep>"


def _clip_depth(value: Any, levels: int) -> Any:
    """`value` with every object or list below `levels` levels replaced by `CLIPPED`."""
    if not isinstance(value, dict | list):
        return value
    if levels == 0:
        return CLIPPED
    if isinstance(value, dict):
        return {key: _clip_depth(child, levels - 1) for key, child in value.items()}
    return [_clip_depth(child, levels - 1) for child in value]


def _quarantine_row(
    item: Any,
    index: int,
    error: ItemError,
    received_at: datetime,
    source: Source,
    wire_format: str,
    limits: CollectorLimits,
) -> Row:
    """The quarantine row of a refused item: always writable, never holding a write key."""
    reason = error.reason
    clean = without_credentials(item)
    if _deeper_than(clean, limits.max_event_depth):
        clean = _clip_depth(clean, limits.max_event_depth)
        reason += f"; in raw, what is nested deeper than {limits.max_event_depth} levels is clipped"
    raw = orjson.dumps(clean, default=str).decode()
    if len(raw) > limits.max_event_bytes:
        raw = raw[: limits.max_event_bytes]
        reason += f"; raw holds only its first {limits.max_event_bytes} characters"
    return {
        "received_at": received_at,
        "source_id": source.name,
        "wire_format": wire_format,
        "batch_index": index,
        "field": error.field,
        "reason": reason,
        "raw": raw,
    }


def create_collector_app(
    collector: Collector, on_shutdown: Callable[[], Any] | None = None
) -> FastAPI:
    """The collector as its own FastAPI app (the gateway mounts the same routes)."""
    app = FastAPI(title="Data Platform collector", docs_url=None, redoc_url=None)
    # Write keys are public and travel in the body, the query or Basic auth, so any origin may
    # send, with whatever headers its SDK adds. The origin is echoed with credentials allowed:
    # `sendBeacon` always sends credentials, and analytics-next can be told to; no collector
    # path reads a cookie, so they are worth nothing here.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Retry-After", "X-Request-ID"],
        max_age=86400,
    )
    # Outermost: an id for every request, and problem+json for any error left unhandled.
    app.add_middleware(RequestIdsAndErrors, service="collector")
    if on_shutdown is not None:
        app.router.on_shutdown.append(on_shutdown)

    @app.get("/health", tags=["probes"])
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(RequestRefusedError)
    async def _refuse(request: Request, exc: RequestRefusedError) -> JSONResponse:
        return problem(request, exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        """A wrong path or method (404, 405) as a problem too, `Allow` header kept."""
        phrase = HTTPStatus(exc.status_code).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        detail = f"{request.method} {request.url.path}: {phrase}; see /openapi.json for the paths."
        response = problem(request, RequestRefusedError(exc.status_code, code, detail))
        response.headers.update(exc.headers or {})
        return response

    async def segment(request: Request, default_type: str | None, batch: bool) -> Response:
        limits = collector.limits
        # Basic auth first (server SDKs, RudderStack's XHR), then RudderStack's beacon query.
        header_key = basic_auth_user(request) or request.query_params.get("writeKey")
        source = await collector.authenticate(header_key) if header_key else None
        body = json_object(await read_json(request, limits.max_body_bytes, "max_body_bytes"))
        if source is None:
            source = await collector.authenticate(body.get("writeKey"))
        sent_at = request_sent_at(body, "sentAt")
        items = segment_batch(body) if batch else [{**body, "type": default_type}]
        rejected = await collector.accept(
            source,
            items,
            _segment,
            sent_at,
            wire_format="segment",
            single=not batch,
            client_ip=ClientIp.of(request, limits.client_ip),
        )
        return JSONResponse(
            {"success": True, "rejected": rejected} if rejected else {"success": True}
        )

    for short, event_type in SEGMENT_SHORT_PATHS.items():
        for path in (f"/v1/{event_type}", f"/v1/{short}"):
            app.add_api_route(
                path,
                _bind(segment, event_type, False),
                methods=["POST"],
                name=f"segment_{path}",
                include_in_schema=path.endswith(event_type),
            )
    for path in ("/v1/batch", "/v1/b", "/beacon/v1/batch"):
        app.add_api_route(
            path, _bind(segment, None, True), methods=["POST"], name=f"segment_{path}"
        )

    async def posthog(request: Request) -> Response:
        limits = collector.limits
        is_batch_path = request.url.path.rstrip("/") == "/batch"
        limit = limits.max_posthog_batch_bytes if is_batch_path else limits.max_body_bytes
        body = await read_posthog_json(
            request, limit, "max_posthog_batch_bytes" if is_batch_path else "max_body_bytes"
        )
        items, api_key, sent_at = posthog_items(body)
        source = await collector.authenticate(api_key)
        single = isinstance(body, dict) and "batch" not in body
        rejected = await collector.accept(
            source,
            items,
            _posthog,
            sent_at,
            wire_format="posthog",
            single=single,
            client_ip=ClientIp.of(request, limits.client_ip),
        )
        return JSONResponse({"status": 1, "rejected": rejected} if rejected else {"status": 1})

    for path in POSTHOG_PATHS:
        for variant in (path, f"{path}/"):
            app.add_api_route(variant, posthog, methods=["POST"], name=f"posthog_{variant}")

    add_sdk_config_routes(app, collector.find_source)
    return app


def _bind(handler: Callable[..., Any], default_type: str | None, batch: bool) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        response: Response = await handler(request, default_type, batch)
        return response

    return endpoint
