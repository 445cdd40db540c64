"""One error root for the whole platform.

Every error carries a stable `code` (what API clients and alerts key on) and says in its type whether
trying again can help: `RetryableError` for conditions that pass (a commit conflict, a database that
is restarting), `TerminalError` for everything a retry would only repeat (bad config, bad input).
An API answers an error with its `http_status` in an RFC 9457 problem whose type ends in `code`.
"""

import contextlib
import difflib
from collections.abc import Iterable, Iterator
from typing import ClassVar


class PlatformError(Exception):
    """Root of every error the platform raises on purpose."""

    code: ClassVar[str] = "platform_error"
    retryable: ClassVar[bool] = False
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TerminalError(PlatformError):
    """Trying again gives the same answer: fix the input, config or code first."""

    code = "terminal_error"
    http_status = 400


class RetryableError(PlatformError):
    """A passing condition: the same call may succeed if tried again."""

    code = "retryable_error"
    retryable = True
    http_status = 503


class ConfigError(TerminalError):
    """A setting is missing or has a value its type refuses; `keys` names the settings."""

    code = "config_error"

    def __init__(self, message: str, keys: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.keys = keys


class NotFoundError(TerminalError):
    """A named object (table, snapshot, product) does not exist."""

    code = "not_found"
    http_status = 404


class InvalidNameError(TerminalError):
    """A name does not follow the platform's naming convention."""

    code = "invalid_name"
    http_status = 422


class InvalidRequestError(TerminalError):
    """A value sent to an API is refused; `field` names it."""

    code = "invalid_request"
    http_status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConflictError(TerminalError):
    """The object already exists, or its state does not allow the change."""

    code = "conflict"
    http_status = 409


class AuthenticationError(TerminalError):
    """No credential, or one that is malformed, expired, revoked or unknown."""

    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(TerminalError):
    """The caller is known but lacks the permission the route declares."""

    code = "forbidden"
    http_status = 403


class RateLimitedError(RetryableError):
    """The caller sent more requests than its limit; `retry_after` says when to try again."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SchemaMismatchError(TerminalError):
    """Data does not fit the schema of the table it is written to."""

    code = "schema_mismatch"


class CommitConflictError(RetryableError):
    """Another writer committed first; the write can be tried again on the new version."""

    code = "commit_conflict"


class StoreUnavailableError(RetryableError):
    """The metadata store could not be reached."""

    code = "store_unavailable"


class MissingExtraError(TerminalError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    code = "missing_extra"


@contextlib.contextmanager
def extra_required(extra: str, purpose: str) -> Iterator[None]:
    """Turn an optional package missing in the block into an error naming `dataplatform[extra]`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package == "dataplatform":
            raise  # one of our own modules: a bug, not an uninstalled option
        raise MissingExtraError(
            f"{purpose} needs the Python package `{package}`, which is not installed; "
            f"install it with: pip install 'dataplatform[{extra}]'."
        ) from exc


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """` Did you mean `x`?` when a choice is close to `value`, else an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
