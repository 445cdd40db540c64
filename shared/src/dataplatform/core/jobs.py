"""Work a product does on a schedule besides its models: enforcing retention, retraining a
clustering, collecting metrics.

A product declares its jobs on its `Product` (`jobs=(Job(...),)`); each names the product setting
that holds its interval, so operators change schedules in config like any other option.
`dataplatform jobs run --product NAME` runs them (the orchestrator starts it when a product has
jobs); `--once` runs each one now and exits.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import ConfigError
from dataplatform.core.product_context import ProductContext, S

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class JobContext(ProductContext[S]):
    """What a job works with: its product's context (settings in force, tables) and the lake."""

    lake: Lakehouse


@dataclass(frozen=True)
class Job:
    """A named piece of work, run every `settings.<every_setting>` seconds.

    `run` returns a summary of what it did (JSON-able), which is logged; a job that must keep a
    record (rows removed, a model trained) writes it to the product's own tables.
    """

    name: str
    description: str
    run: Callable[[JobContext[Any]], Mapping[str, Any]]
    every_setting: str

    def interval(self, settings: ProductSettings) -> float:
        """Seconds between runs, from the setting the job names."""
        value = getattr(settings, self.every_setting, None)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(
                f"Job `{self.name}` runs every `{self.every_setting}` seconds, but "
                f"{type(settings).__name__} has {value!r} there; declare it as a positive "
                "number of seconds."
            )
        return float(value)


@dataclass
class JobOutcome:
    """One run of a job: its summary, or the error that ended it."""

    job: str
    seconds: float
    summary: Mapping[str, Any] | None = None
    error: str | None = None


class JobScheduler:
    """Runs each job when it is due; one failing job neither stops nor delays the others."""

    def __init__(self, jobs: Sequence[Job], context: JobContext[Any]) -> None:
        self.jobs = list(jobs)
        self.context = context
        self._intervals = {job.name: job.interval(context.settings) for job in self.jobs}
        self._due = dict.fromkeys(self._intervals, 0.0)  # every job runs once at start

    def run_once(self) -> list[JobOutcome]:
        """Run every job now."""
        return [self._run(job) for job in self.jobs]

    def run_due(self, now: float | None = None) -> list[JobOutcome]:
        """Run the jobs whose time has come, and schedule their next runs."""
        now = time.monotonic() if now is None else now
        outcomes = []
        for job in self.jobs:
            if self._due[job.name] <= now:
                outcomes.append(self._run(job))
                self._due[job.name] = now + self._intervals[job.name]
        return outcomes

    def seconds_until_due(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        return max(0.0, min(self._due.values(), default=60.0) - now)

    def run_until(self, stop: threading.Event) -> None:
        """Run jobs as they fall due until `stop` is set; a job in progress finishes."""
        while not stop.is_set():
            self.run_due()
            stop.wait(self.seconds_until_due())

    def _run(self, job: Job) -> JobOutcome:
        started = time.monotonic()
        try:
            summary = job.run(self.context)
        except Exception as exc:  # reported; the job runs again when next due
            logger.exception("job %s of %s failed", job.name, self.context.name)
            return JobOutcome(
                job.name, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}"
            )
        seconds = time.monotonic() - started
        logger.info(
            "job %s of %s done in %.2f s: %s", job.name, self.context.name, seconds, summary
        )
        return JobOutcome(job.name, seconds, summary=summary)
