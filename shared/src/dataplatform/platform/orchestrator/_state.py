"""The orchestrator's state file: what runs, under which pid, since when, restarted how often.

The orchestrator rewrites it whole on every change (a temporary file renamed over the old one), so
a reader such as `dataplatform status` never sees half of it.
"""

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from dataplatform.core.errors import TerminalError

STATE_FILE = "orchestrator.json"
ProcessState = Literal["running", "restarting", "stopping", "stopped", "killed"]


class ProcessStatus(BaseModel):
    """One supervised process as last seen by the orchestrator."""

    name: str
    product: str
    role: str
    pid: int | None
    state: ProcessState
    restarts: int
    started_at: datetime | None
    last_exit: int | None


class OrchestratorState(BaseModel):
    pid: int
    state: Literal["running", "stopping", "stopped"]
    environment: str
    gateway_url: str | None
    started_at: datetime
    updated_at: datetime
    processes: list[ProcessStatus]


def write_state(state_dir: Path, state: OrchestratorState) -> None:
    """Replace the state file atomically."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=state_dir, prefix=f".{STATE_FILE}.", delete=False
    ) as temporary:
        temporary.write(state.model_dump_json(indent=2))
    Path(temporary.name).replace(state_dir / STATE_FILE)


def read_state(state_dir: Path) -> OrchestratorState | None:
    """The last state written in `state_dir`, or None when no orchestrator ever ran there."""
    path = state_dir / STATE_FILE
    try:
        return OrchestratorState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValidationError as exc:
        raise TerminalError(
            f"The orchestrator state file `{path}` is not readable ({exc.error_count()} errors, "
            f"first: {exc.errors()[0]['msg']}); delete it and run `dataplatform up` again."
        ) from None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
