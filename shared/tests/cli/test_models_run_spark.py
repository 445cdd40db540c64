"""`dataplatform models run --engine spark` on the demo's traffic, as an operator runs it: every
web-user-analytics model succeeds, and each table equals what the same command writes with
DuckDB from a copy of the same bronze."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import SqlModel
from dataplatform.core.product import get_product
from dataplatform.testing import comparable_rows, service_missing

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

CLI = str(Path(sys.executable).with_name("dataplatform"))
PRODUCT = "web-user-analytics"
SQL_MODELS = sorted(
    name
    for name, model in get_product(PRODUCT).model_graph().models.items()
    if isinstance(model, SqlModel)
)
# The traffic `make demo` sends first (dataplatform.demo): 300 users over 7 days, seed 7.
DEMO_TRAFFIC = ("--users", "300", "--days", "7", "--seed", "7")


def dataplatform(folder: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(folder / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{folder / 'metadata.db'}",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [CLI, *args], env=environment, capture_output=True, text=True, timeout=1000
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("java") is None:
        service_missing("Java 17 is needed for Spark's local mode")
    duckdb = tmp_path_factory.mktemp("duckdb")
    dataplatform(duckdb, "db", "upgrade")
    dataplatform(duckdb, "generate", *DEMO_TRAFFIC)
    spark = tmp_path_factory.mktemp("spark")
    shutil.copytree(duckdb, spark, dirs_exist_ok=True)  # the same bronze, the same metadata
    return {"duckdb": duckdb, "spark": spark}


@pytest.fixture(scope="module")
def printed(lakes: dict[str, Path]) -> dict[str, str]:
    return {
        engine: dataplatform(folder, "models", "run", "--product", PRODUCT, "--engine", engine)
        for engine, folder in lakes.items()
    }


def test_every_model_succeeds_on_spark(printed: dict[str, str]) -> None:
    for model in SQL_MODELS:
        name = model.split(".", 1)[1]
        line = next((row for row in printed["spark"].splitlines() if name in row), "")
        assert "succeeded" in line, f"{model} did not succeed on Spark:\n{printed['spark']}"


@pytest.mark.parametrize("table", SQL_MODELS)
def test_spark_writes_what_duckdb_writes(
    lakes: dict[str, Path], printed: dict[str, str], table: str
) -> None:
    duck = Lakehouse(lakes["duckdb"] / "lake").read(table)
    spark = Lakehouse(lakes["spark"] / "lake").read(table)
    assert duck.num_rows > 0, f"{table} is empty: the demo's traffic does not reach it"
    assert comparable_rows(spark.select(duck.schema.names)) == comparable_rows(duck)
