"""A real S3-compatible server, S3Proxy on loopback (`dataplatform.devtools.s3_server`), for the
`s3://` lake tests of the connectors and of the Spark engine.

Without its jars the tests skip, saying so, except under `CI=true`, where they fail: CI must never
pass by skipping.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.devtools.s3_server import S3_JARS, S3Server, missing_s3_jars
from dataplatform.testing import service_missing

S3_BUCKET = "lake"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 server for the module's tests, with an empty bucket `lake`, stopped after them;
    skips (fails under CI=true) without its jars, naming the script that brings them."""
    reason = missing_s3_jars()
    if reason is not None:
        service_missing(reason)
    server = S3Server(S3_JARS, tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        server.create_bucket(S3_BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_lake(s3_server: S3Server, tmp_path: Path) -> Lakehouse:
    """An empty lake at `s3://lake/<test>` on the module's S3 server."""
    return Lakehouse(f"s3://{S3_BUCKET}/{tmp_path.name}", s3_server.storage_options)
