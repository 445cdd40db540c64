"""Kafka, Redis, PostgreSQL and Spark are extras: without them the platform still runs on its
defaults, and asking for one that is not installed names the extra to install.

"Not installed" is simulated in a fresh interpreter by `sys.modules[name] = None`, which makes
every import of `name` fail as if the package were absent.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dataplatform.core.errors import MissingExtraError, extra_required

CLI = str(Path(sys.executable).with_name("dataplatform"))
EVERY_EXTRA = ("redis", "hiredis", "confluent_kafka", "psycopg", "pyspark")


def without(
    modules: tuple[str, ...], code: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter in which `modules` cannot be imported."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{blocked}{textwrap.dedent(code)}", *args],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def raises_missing_extra(modules: tuple[str, ...], code: str) -> str:
    """The message of the MissingExtraError that `code` raises without `modules`."""
    attempt = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    result = without(
        modules,
        "from dataplatform.core.errors import MissingExtraError\n"
        f"try:\n{attempt}\n"
        "except MissingExtraError as exc:\n    print(exc.code, exc.message)\n"
        "else:\n    print('no error')\n",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("modules", "code", "expected"),
    [
        pytest.param(
            ("redis",),
            "from dataplatform.core.connectors.bus.redis import RedisStreamBus",
            "missing_extra The Redis bus (`bus: redis`) needs the Python package `redis`, which "
            "is not installed; install it with: pip install 'dataplatform[redis]'.",
            id="redis bus",
        ),
        pytest.param(
            ("confluent_kafka",),
            """
            from dataplatform.core.connectors.bus.kafka import KafkaBus
            KafkaBus("127.0.0.1:9092")
            """,
            "missing_extra The Kafka bus (`bus: kafka`) needs the Python package "
            "`confluent_kafka`, which is not installed; install it with: "
            "pip install 'dataplatform[kafka]'.",
            id="kafka bus",
        ),
        pytest.param(
            ("psycopg",),
            """
            from dataplatform.core.connectors.db import MetadataStore
            MetadataStore("postgresql://postgres@127.0.0.1:5432/test")
            """,
            "missing_extra A PostgreSQL metadata store (`database_url`) needs the Python package "
            "`psycopg`, which is not installed; install it with: "
            "pip install 'dataplatform[postgres]'.",
            id="postgres store",
        ),
    ],
)
def test_a_missing_extra_is_named_with_the_command_that_installs_it(
    modules: tuple[str, ...], code: str, expected: str
) -> None:
    assert raises_missing_extra(modules, code) == expected


def test_redis_rate_limits_without_redis_name_the_extra() -> None:
    message = raises_missing_extra(
        ("redis",),
        """
        from dataplatform.platform.auth import RateLimiter
        RateLimiter("60/minute", "async+redis://127.0.0.1:6379/0")
        """,
    )

    assert message.startswith("missing_extra Counting rate limits in Redis")
    assert message.endswith("pip install 'dataplatform[redis]'.")


def test_the_spark_engine_without_pyspark_names_the_extra() -> None:
    message = raises_missing_extra(
        ("pyspark",),
        """
        from dataplatform.core.processing import create_engine
        create_engine("spark").session()
        """,
    )

    assert message == (
        "missing_extra The engine `spark` needs the Python package `pyspark`, which is not "
        "installed; install it with: pip install 'dataplatform[spark]'."
    )


def test_the_cli_reports_a_missing_extra_in_one_line(tmp_path: Path) -> None:
    env = {
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
        "DATAPLATFORM_BUS": "redis",
    }
    upgraded = subprocess.run(
        [CLI, "db", "upgrade"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr

    result = without(
        ("redis",),
        "from dataplatform.cli import main\nmain()",
        "ingest",
        "run",
        "--product",
        "web-user-analytics",
        **env,
    )

    assert result.returncode == 1
    assert "error [missing_extra] The Redis bus" in result.stderr
    assert "pip install 'dataplatform[redis]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_defaults_need_no_extra(tmp_path: Path) -> None:
    result = without(
        EVERY_EXTRA,
        """
        import dataplatform.platform.gateway
        from dataplatform.cli import main
        main()
        """,
        "lake",
        "tables",
        DATAPLATFORM_LAKE_ROOT=str(tmp_path / "lake"),
        DATAPLATFORM_DATABASE_URL=f"sqlite:///{tmp_path / 'metadata.db'}",
    )

    assert result.returncode == 0, result.stderr


def test_only_a_missing_third_party_package_is_a_missing_extra() -> None:
    refused = pytest.raises(MissingExtraError, match=r"pip install 'dataplatform\[kafka\]'")
    with refused, extra_required("kafka", "The Kafka bus"):
        import dataplatform_no_such_package  # noqa: F401

    # One of the platform's own modules missing is a bug, reported as it is.
    with pytest.raises(ModuleNotFoundError), extra_required("kafka", "The Kafka bus"):
        import dataplatform.no_such_module  # noqa: F401
