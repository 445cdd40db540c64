import json
import logging
import sys

import pytest

from dataplatform.core.logging import JsonFormatter, configure_logging, log_context


@pytest.fixture(autouse=True)
def restore_root_handlers():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_records_carry_the_ids_of_enclosing_contexts(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "json")
    logger = logging.getLogger("dataplatform.example")
    with log_context(request_id="req-1"):
        with log_context(run_id="run-7"):
            logger.info("inner", extra={"rows": 3})
        logger.info("outer")
    logger.info("outside")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    inner, outer, outside = lines
    assert inner["message"] == "inner" and inner["level"] == "INFO"
    assert (inner["request_id"], inner["run_id"], inner["rows"]) == ("req-1", "run-7", 3)
    assert outer["request_id"] == "req-1" and "run_id" not in outer
    assert "request_id" not in outside


def test_exceptions_are_logged_as_one_json_line() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()}
        )
    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert "ValueError: broken" in json.loads(line)["exception"]
