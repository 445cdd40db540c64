"""The collector: Segment / RudderStack and PostHog HTTP APIs in front of the bus.

Request-level problems (size, body, key) refuse the whole request and store nothing. Item-level
problems fail a single-event request with 400, but never a batch: SDKs drop a batch answered
400, which would lose its good items, so those land in bronze and the bad ones in quarantine.
A request is answered only after its rows are durable.
"""

import asyncio
import base64
import binascii
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import orjson
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter

from dataplatform.core.config import CollectorLimits
from dataplatform.core.connectors.bus import Bus
from dataplatform.core.events import ENVELOPE_SCHEMA, QUARANTINE_SCHEMA
from dataplatform.platform.collector._body import RequestRefusedError, read_json, too_large
from dataplatform.platform.collector._routing import EventRouter
from dataplatform.platform.collector._wire import (
    SURFACE,
    ItemError,
    Row,
    from_posthog,
    from_segment,
    parse_timestamp,
)
from dataplatform.platform.sources import Source, SourceRegistry

logger = logging.getLogger(__name__)

EVENTS = Counter(
    "dataplatform_collector_events_total",
    "Events received by the collector, by source and outcome.",
    ["source", "outcome"],
)
SEGMENT_SINGLE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
POSTHOG_PATHS = ("/batch", "/capture", "/e", "/i/v0/e")

Normaliser = Callable[[Any, datetime, str, datetime | None], Row]


def _segment(item: Any, received_at: datetime, source: str, sent_at: datetime | None) -> Row:
    return from_segment(item, received_at=received_at, source_id=source, batch_sent_at=sent_at)


def _posthog(item: Any, received_at: datetime, source: str, sent_at: datetime | None) -> Row:
    return from_posthog(item, received_at=received_at, source_id=source, batch_sent_at=sent_at)


def problem(exc: RequestRefusedError) -> JSONResponse:
    body = {
        "type": f"/problems/{exc.code}",
        "title": exc.code.replace("_", " "),
        "status": exc.status,
        "detail": exc.detail,
        **exc.extensions,
    }
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")


class Collector:
    """Turns requests into envelope rows, routes them and publishes them on the bus."""

    def __init__(
        self, limits: CollectorLimits, sources: SourceRegistry, bus: Bus, router: EventRouter
    ) -> None:
        self.limits = limits
        self.sources = sources
        self.bus = bus
        self.router = router

    async def authenticate(self, write_key: Any) -> Source:
        if not isinstance(write_key, str) or not write_key:
            raise RequestRefusedError(
                401,
                "missing_write_key",
                "Send the write key as HTTP Basic user name or in the body.",
            )
        try:
            source = self.sources.cached(write_key)
        except KeyError:  # only a cache miss blocks on the database, in a worker thread
            source = await anyio.to_thread.run_sync(self.sources.lookup, write_key)
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
        received_at = datetime.now(UTC)
        accepted: dict[str, list[Row]] = defaultdict(list)
        quarantined: list[Row] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                row = normalise(item, received_at, source.name, sent_at)
            except ItemError as error:
                if single:
                    raise RequestRefusedError(
                        400, "invalid_event", error.reason, field=error.field
                    ) from None
                rejected.append({"index": index, "field": error.field, "reason": error.reason})
                quarantined.append(
                    _quarantine_row(item, index, error, received_at, source, wire_format)
                )
                continue
            if len(row["raw"]) > self.limits.max_event_bytes:
                raise too_large(f"event at index {index}", self.limits.max_event_bytes)
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


def _quarantine_row(
    item: Any,
    index: int,
    error: ItemError,
    received_at: datetime,
    source: Source,
    wire_format: str,
) -> Row:
    return {
        "received_at": received_at,
        "source_id": source.name,
        "wire_format": wire_format,
        "batch_index": index,
        "field": error.field,
        "reason": error.reason,
        "raw": orjson.dumps(item, default=str).decode(),
    }


def _basic_auth_user(request: Request) -> str | None:
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


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestRefusedError(
            400, "invalid_body", f"The body must be a JSON object, not {type(body).__name__}."
        )
    return body


def create_collector_app(
    collector: Collector, on_shutdown: Callable[[], Any] | None = None
) -> FastAPI:
    """The collector as its own FastAPI app (the gateway mounts the same routes)."""
    app = FastAPI(title="Data Platform collector", docs_url=None, redoc_url=None)
    # Write keys are public and travel in the body or Basic auth, so any origin may send.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )
    if on_shutdown is not None:
        app.router.on_shutdown.append(on_shutdown)

    @app.get("/health", tags=["probes"])
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(RequestRefusedError)
    async def _refuse(_: Request, exc: RequestRefusedError) -> JSONResponse:
        return problem(exc)

    async def segment(request: Request, default_type: str | None, batch: bool) -> Response:
        limits = collector.limits
        header_key = _basic_auth_user(request)
        source = await collector.authenticate(header_key) if header_key else None
        body = _object(await read_json(request, limits.max_body_bytes, "max_body_bytes"))
        if source is None:
            source = await collector.authenticate(body.get("writeKey"))
        sent_at = _request_sent_at(body, "sentAt")
        if batch:
            items = body.get("batch")
            if not isinstance(items, list):
                raise RequestRefusedError(
                    400, "invalid_body", "`batch` must be a list of events.", field="batch"
                )
            shared = {
                key: body[key]
                for key in ("context", "integrations")
                if isinstance(body.get(key), dict)
            }
            items = [_with_batch_fields(item, shared) for item in items]
        else:
            items = [{**body, "type": default_type}]
        rejected = await collector.accept(
            source, items, _segment, sent_at, wire_format="segment", single=not batch
        )
        return JSONResponse(
            {"success": True, "rejected": rejected} if rejected else {"success": True}
        )

    for event_type in SEGMENT_SINGLE_TYPES:
        app.add_api_route(
            f"/v1/{event_type}",
            _bind(segment, event_type, False),
            methods=["POST"],
            name=f"segment_{event_type}",
        )
    app.add_api_route(
        "/v1/batch", _bind(segment, None, True), methods=["POST"], name="segment_batch"
    )

    async def posthog(request: Request) -> Response:
        limits = collector.limits
        is_batch_path = request.url.path.rstrip("/") == "/batch"
        limit = limits.max_posthog_batch_bytes if is_batch_path else limits.max_body_bytes
        body = await read_json(
            request, limit, "max_posthog_batch_bytes" if is_batch_path else "max_body_bytes"
        )
        items, api_key, sent_at = _posthog_items(body)
        source = await collector.authenticate(api_key)
        single = isinstance(body, dict) and "batch" not in body
        rejected = await collector.accept(
            source, items, _posthog, sent_at, wire_format="posthog", single=single
        )
        return JSONResponse({"status": 1, "rejected": rejected} if rejected else {"status": 1})

    for path in POSTHOG_PATHS:
        for variant in (path, f"{path}/"):
            app.add_api_route(variant, posthog, methods=["POST"], name=f"posthog_{variant}")

    return app


def _bind(handler: Callable[..., Any], default_type: str | None, batch: bool) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        return await handler(request, default_type, batch)

    return endpoint


def _with_batch_fields(item: Any, shared: dict[str, dict[str, Any]]) -> Any:
    """Batch-level `context` and `integrations` under each item's own (the item's keys win)."""
    if not isinstance(item, dict) or not shared:
        return item
    merged = dict(item)
    for key, batch_value in shared.items():
        own = item.get(key)
        merged[key] = {**batch_value, **own} if isinstance(own, dict) else batch_value
    return merged


def _request_sent_at(body: dict[str, Any], field: str) -> datetime | None:
    try:
        return parse_timestamp(body.get(field), field)
    except ItemError as error:
        raise RequestRefusedError(400, "invalid_event", error.reason, field=field) from None


def _posthog_items(body: Any) -> tuple[list[Any], Any, datetime | None]:
    """Items, API key and batch `sent_at` from any of the shapes PostHog SDKs send."""
    if isinstance(body, list):  # posthog-js sends a bare array, the key in each item's token
        first = body[0] if body and isinstance(body[0], dict) else {}
        return body, first.get("api_key") or _token(first), None
    body = _object(body)
    sent_at = _request_sent_at(body, "sent_at")
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
