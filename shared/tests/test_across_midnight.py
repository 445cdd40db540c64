"""The tests that reason about days pass in a run that starts ten seconds before midnight UTC.

They run again in a pytest of their own whose clock starts at 23:59:50 today and ticks
(DATAPLATFORM_TEST_NOW, see `dataplatform.testing`), so "today" changes while they run: a test
that takes its "today" at one moment and the server at another fails here. The clock is moved in
Python only (time-machine): the modules chosen compare Python's clock with nothing that keeps its
own (Delta commit times come from delta-rs' clock, DuckDB's `current_date` from its own), which is
why freshness tests are not among them; a module that freezes its own clock (mobile's API tests)
needs no second run.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dataplatform.testing import TEST_NOW_VARIABLE

REPOSITORY = Path(__file__).resolve().parents[2]
DAY_SENSITIVE = [
    "products/web-user-analytics/tests/test_api.py",
    "products/user-segmentation/tests/test_rules.py",
    "products/operational-metrics/tests/test_health.py",
    "shared/tests/platform/auth/test_tokens_and_keys.py",
]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_day_sensitive_tests_pass_across_midnight() -> None:
    just_before_midnight = datetime.now(UTC).replace(hour=23, minute=59, second=50, microsecond=0)
    environment = {**os.environ, TEST_NOW_VARIABLE: just_before_midnight.isoformat()}

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *DAY_SENSITIVE],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
