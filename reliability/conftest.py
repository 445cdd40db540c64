"""The reliability suite's sizes and its report: `make test` runs every part small; `make
reliability` runs them at full size and writes what each measured into docs/RELIABILITY.md."""

from pathlib import Path

import pytest
from _harness import REPORT, Report

SIZES = {
    "--fuzz-requests": (120, "collector fuzz: generated requests"),
    "--kill-trials": (3, "kill -9 trials, shared by the three kinds (collector, worker, runner)"),
    "--commit-processes": (4, "concurrent commits: writer processes"),
    "--commits": (10, "concurrent commits: commits per process"),
    "--seed": (20261120, "seed of every random choice (requests, kill moments)"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    for option, (default, help_text) in SIZES.items():
        group.addoption(option, type=int, default=default, help=f"{help_text} ({default})")
    group.addoption(
        "--write",
        type=Path,
        default=None,
        help="replace this suite's sections of this Markdown file (docs/RELIABILITY.md)",
    )


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> Report:
    """Where each part leaves its figures; written out at the end of the session."""
    return REPORT


@pytest.fixture(scope="session")
def size(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """`size("kill_trials")`: a size option's value."""
    return lambda name: int(request.config.getoption(name))


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--write", default=None)
    if path is not None and REPORT.sections:
        REPORT.write(Path(path), session.config.invocation_params.args)
