"""Structured logging: JSON lines for services, human lines for the CLI.

Request and run ids travel in context variables, so every record written while handling a request
or a model run carries them without being passed around.
"""

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "dataplatform_log_context", default=None
)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@contextlib.contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Attach ids (`request_id`, `run_id`, ...) to every record logged inside the block."""
    token = _context.set({**(_context.get() or {}), **ids})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    """The ids attached by the enclosing `log_context` blocks."""
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(_context.get() or {}),
        }
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", log_format: Literal["json", "console"] = "json") -> None:
    """Route the root logger to stderr, as JSON lines or as Rich console lines."""
    handler: logging.Handler
    if log_format == "console":
        from rich.console import Console
        from rich.logging import RichHandler

        # Logs go to stderr so that a command's output on stdout stays machine-readable.
        handler = RichHandler(console=Console(stderr=True), show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
