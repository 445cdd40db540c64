"""Product jobs: each runs when due, on the interval its product's settings give, and one that
fails neither stops nor delays the others."""

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import ConfigError, InvalidNameError
from dataplatform.core.jobs import Job, JobContext, JobScheduler
from dataplatform.core.product import discover_products


class ShopSettings(ProductSettings):
    purge_every_seconds: int = 60
    report_every_seconds: float = 5.0
    name_of_shop: str = "shop"


def purge(context: JobContext) -> Mapping[str, Any]:
    context.lake.append("shop.gold.purges", pa.table({"product": [context.name]}))
    return {"purged": 1}


def broken(context: JobContext) -> Mapping[str, Any]:
    raise RuntimeError("the report server is down")


@pytest.fixture
def context(lake: Lakehouse) -> JobContext:
    settings = ShopSettings()
    return JobContext(
        name="shop", settings=settings, tables=(), settings_of=lambda _: settings, lake=lake
    )


def test_each_job_runs_at_start_then_on_its_own_interval(context: JobContext) -> None:
    scheduler = JobScheduler(
        [
            Job("purge", "Purge.", purge, "purge_every_seconds"),
            Job("report", "Report.", lambda c: {}, "report_every_seconds"),
        ],
        context,
    )

    at_start = [outcome.job for outcome in scheduler.run_due(now=1000.0)]
    five_seconds_on = [outcome.job for outcome in scheduler.run_due(now=1005.0)]
    a_minute_on = [outcome.job for outcome in scheduler.run_due(now=1060.0)]

    assert at_start == ["purge", "report"]
    assert five_seconds_on == ["report"]
    assert a_minute_on == ["purge", "report"]
    assert context.lake.read("shop.gold.purges").num_rows == 2
    assert scheduler.seconds_until_due(now=1061.0) == 4.0


def test_a_failing_job_is_reported_and_the_others_still_run(
    context: JobContext, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = JobScheduler(
        [
            Job("report", "Report.", broken, "report_every_seconds"),
            Job("purge", "Purge.", purge, "purge_every_seconds"),
        ],
        context,
    )

    with caplog.at_level(logging.ERROR):
        failed, done = scheduler.run_once()

    assert failed.error == "RuntimeError: the report server is down" and failed.summary is None
    assert done.error is None and done.summary == {"purged": 1}
    assert "job report of shop failed" in caplog.text


@pytest.mark.parametrize("setting", ["missing_every_seconds", "name_of_shop"])
def test_a_job_whose_interval_setting_is_not_a_number_is_refused(
    context: JobContext, setting: str
) -> None:
    job = Job("purge", "Purge.", purge, setting)

    with pytest.raises(ConfigError, match=f"Job `purge` runs every `{setting}` seconds"):
        JobScheduler([job], context)


def test_a_product_cannot_declare_two_jobs_with_one_name() -> None:
    product = discover_products()[0]
    job = Job("purge", "Purge.", purge, "schedule_seconds")

    with pytest.raises(InvalidNameError, match="two jobs with one name"):
        replace(product, jobs=(job, job))
