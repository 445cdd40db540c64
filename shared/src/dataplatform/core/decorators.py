"""Decorators for the cross-cutting concerns of any unit of work: logging, timing, retrying.

    @retry(attempts=5)
    @measure_performance("lake.append")
    @log_execution
    def append(...): ...

Each works on plain and on async functions.
"""

import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar

from tenacity import (
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity import retry as tenacity_retry
from tenacity.stop import stop_base

from dataplatform.core.metrics import OPERATION_SECONDS

P = ParamSpec("P")
R = TypeVar("R")


def _within(
    function: Callable[P, R], context: Callable[[], AbstractContextManager[None]]
) -> Callable[P, R]:
    """Run each call of `function`, plain or async, inside a fresh `context()`."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            with context():
                return await function(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with context():
            return function(*args, **kwargs)

    return wrapper


def log_execution(function: Callable[P, R]) -> Callable[P, R]:
    """Log the start and end (with duration) of each call at debug level, a failure at error."""
    logger = logging.getLogger(function.__module__)
    name = function.__qualname__

    @contextlib.contextmanager
    def logged() -> Iterator[None]:
        logger.debug("started %s", name, extra={"operation": name})
        started = time.perf_counter()
        try:
            yield
        except Exception:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            logger.exception(
                "failed %s", name, extra={"operation": name, "duration_ms": duration_ms}
            )
            raise
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        logger.debug("finished %s", name, extra={"operation": name, "duration_ms": duration_ms})

    return _within(function, logged)


def measure_performance(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Observe each call's duration in `dataplatform_operation_duration_seconds{operation}`."""

    @contextlib.contextmanager
    def timed() -> Iterator[None]:
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        finally:
            OPERATION_SECONDS.labels(operation, outcome).observe(time.perf_counter() - started)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return _within(function, timed)

    return decorate


def is_retryable(error: BaseException) -> bool:
    """True for errors whose type says trying again can help."""
    return bool(getattr(error, "retryable", False))


def retry(
    attempts: int = 5,
    *,
    initial_seconds: float = 0.05,
    max_seconds: float = 2.0,
    give_up_after_seconds: float | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry retryable errors with exponential backoff and full jitter; re-raise the last one."""
    stop: stop_base = stop_after_attempt(attempts)
    if give_up_after_seconds is not None:
        stop = stop | stop_after_delay(give_up_after_seconds)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return tenacity_retry(
            retry=retry_if_exception(is_retryable),
            wait=wait_random_exponential(multiplier=initial_seconds, max=max_seconds),
            stop=stop,
            reraise=True,
            before_sleep=before_sleep_log(logging.getLogger(function.__module__), logging.INFO),
        )(function)

    return decorate
