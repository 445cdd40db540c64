"""Errors in model definitions: they name the file and line, and suggest a fix."""

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
