import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

from dataplatform.core.decorators import log_execution, measure_performance, retry
from dataplatform.core.errors import (
    CommitConflictError,
    ConfigError,
    PlatformError,
    RetryableError,
    TerminalError,
)


def test_retry_repeats_retryable_errors_until_success() -> None:
    calls = []

    @retry(attempts=5, initial_seconds=0.001)
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise CommitConflictError("lost a race")
        return "done"

    assert flaky() == "done"
    assert len(calls) == 3


def test_retry_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    calls = []

    @retry(attempts=4, initial_seconds=0.001)
    def always_conflicts() -> None:
        calls.append(1)
        raise CommitConflictError(f"attempt {len(calls)}")

    with pytest.raises(CommitConflictError, match="attempt 4"):
        always_conflicts()


def test_retry_never_repeats_terminal_or_foreign_errors() -> None:
    calls = []

    @retry(attempts=5, initial_seconds=0.001)
    def misconfigured(error: Exception) -> None:
        calls.append(1)
        raise error

    with pytest.raises(ConfigError):
        misconfigured(ConfigError("bad key"))
    with pytest.raises(KeyError):
        misconfigured(KeyError("x"))
    assert len(calls) == 2


def test_retry_works_on_async_functions() -> None:
    calls = []

    @retry(attempts=3, initial_seconds=0.001)
    async def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise CommitConflictError("once")
        return len(calls)

    assert asyncio.run(flaky()) == 2


def _observations(operation: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "dataplatform_operation_duration_seconds_count",
        {"operation": operation, "outcome": outcome},
    )
    return value or 0.0


def test_measure_performance_counts_successes_and_failures() -> None:
    @measure_performance("test.divide")
    def divide(a: int, b: int) -> float:
        return a / b

    divide(1, 1)
    divide(2, 1)
    with pytest.raises(ZeroDivisionError):
        divide(1, 0)

    assert _observations("test.divide", "ok") == 2
    assert _observations("test.divide", "error") == 1


def test_measure_performance_times_async_functions() -> None:
    @measure_performance("test.async_sleep")
    async def nap() -> None:
        await asyncio.sleep(0)

    asyncio.run(nap())

    assert _observations("test.async_sleep", "ok") == 1


def test_log_execution_logs_start_end_and_failure(caplog: pytest.LogCaptureFixture) -> None:
    @log_execution
    def work(fail: bool) -> str:
        if fail:
            raise TerminalError("nope")
        return "ok"

    with caplog.at_level(logging.DEBUG):
        assert work(False) == "ok"
        with pytest.raises(TerminalError):
            work(True)

    messages = [record.getMessage() for record in caplog.records]
    name = "test_log_execution_logs_start_end_and_failure.<locals>.work"
    assert messages == [f"started {name}", f"finished {name}", f"started {name}", f"failed {name}"]
    assert caplog.records[-1].levelno == logging.ERROR
    assert caplog.records[1].duration_ms >= 0


def test_error_codes_are_stable_and_retryability_follows_the_type() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls, *(sub for direct in cls.__subclasses__() for sub in subclasses(direct))]

    every = subclasses(PlatformError)
    codes = [cls.code for cls in every]
    assert len(codes) == len(set(codes)), "two error types share a code"
    for cls in every:
        assert cls.retryable == issubclass(cls, RetryableError), cls
    assert CommitConflictError.code == "commit_conflict"
