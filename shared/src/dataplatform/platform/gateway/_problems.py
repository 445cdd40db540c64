"""Every error as an RFC 9457 problem (`application/problem+json`), and never a stack trace.

One set of handlers for the whole app: routes raise platform errors, and the status, type, headers
(`WWW-Authenticate`, `Retry-After`) and the named field follow from the error.
"""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from dataplatform.core.errors import (
    AuthenticationError,
    InvalidRequestError,
    PlatformError,
    RateLimitedError,
)
from dataplatform.core.serving import JSONOut
from dataplatform.platform.console import console_error

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ProblemJSON(JSONOut):
    media_type = PROBLEM_JSON


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = {
        "type": f"/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return ProblemJSON(body, status_code=status, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error raised in `app` with a problem document."""

    @app.exception_handler(PlatformError)
    async def platform_error(request: Request, exc: PlatformError) -> Response:
        page = console_error(request, exc)
        if page is not None:  # a console page answers with a page, or the login
            return page
        headers: dict[str, str] = {}
        extensions: dict[str, Any] = {}
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, InvalidRequestError) and exc.field:
            extensions["field"] = exc.field
        if exc.http_status >= 500:
            logger.error("request failed: %s", exc.message, exc_info=exc)
        return problem(request, exc.http_status, exc.code, exc.message, headers, **extensions)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        first = errors[0] if errors else {"field": "?", "message": "invalid"}
        detail = f"`{first['field']}`: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem(request, 422, "invalid_request", detail, field=first["field"], errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and exc.detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}; GET /openapi.json lists them."
        return problem(request, exc.status_code, code, detail, dict(exc.headers or {}))
