"""One error root for the whole platform.

Every error carries a stable `code` (what API clients and alerts key on) and says in its type whether
trying again can help: `RetryableError` for conditions that pass (a commit conflict, a database that
is restarting), `TerminalError` for everything a retry would only repeat (bad config, bad input).
"""

import difflib
from collections.abc import Iterable
from typing import ClassVar


class PlatformError(Exception):
    """Root of every error the platform raises on purpose."""

    code: ClassVar[str] = "platform_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TerminalError(PlatformError):
    """Trying again gives the same answer: fix the input, config or code first."""

    code = "terminal_error"


class RetryableError(PlatformError):
    """A passing condition: the same call may succeed if tried again."""

    code = "retryable_error"
    retryable = True


class ConfigError(TerminalError):
    """A setting is missing or has a value its type refuses."""

    code = "config_error"


class NotFoundError(TerminalError):
    """A named object (table, snapshot, product) does not exist."""

    code = "not_found"


class InvalidNameError(TerminalError):
    """A name does not follow the platform's naming convention."""

    code = "invalid_name"


class SchemaMismatchError(TerminalError):
    """Data does not fit the schema of the table it is written to."""

    code = "schema_mismatch"


class CommitConflictError(RetryableError):
    """Another writer committed first; the write can be tried again on the new version."""

    code = "commit_conflict"


class StoreUnavailableError(RetryableError):
    """The metadata store could not be reached."""

    code = "store_unavailable"


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """` Did you mean `x`?` when a choice is close to `value`, else an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
