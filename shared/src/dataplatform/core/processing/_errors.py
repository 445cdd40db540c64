"""Errors in model definitions: they name the file and line, and suggest a fix."""

import difflib
from collections.abc import Iterable
from pathlib import Path

from dataplatform.core.errors import TerminalError


class ModelDefinitionError(TerminalError):
    """A model file, header or reference is wrong; the message says where and how to fix it."""

    code = "model_definition_error"

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """` Did you mean `x`?` when a choice is close to `value`, else an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
