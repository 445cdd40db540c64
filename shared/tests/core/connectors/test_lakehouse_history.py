"""Purging rows from a table's history: `Lakehouse.purge_history` and `scrub_change_data`, on a
local lake and on an `s3://` lake (a real S3-compatible server on loopback).

The case, `zoe_through_every_kind_of_commit`, in `web_user_analytics.silver.visits`
(user_id, page, n), with file statistics on every column, so the log names zoe too:

    v0 append  zoe/home 1, max/home 1, ann/pricing 1
    v1 merge   zoe/home 2                      (change data: zoe's pre- and post-image)
    v2 append  zoe/cart 1, max/cart 1          then a checkpoint (its statistics name zoe)
    v3 delete  zoe's rows, by hash             (change data: zoe's two rows deleted)

After the purge, no file the table keeps (data, change data, commits, checkpoints) names zoe;
max's and ann's three rows are as they were; the change feed from v3 on is readable.
"""

import hashlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import tenacity

from dataplatform.core.connectors.lakehouse import Lakehouse, Purged, Scrubbed
from dataplatform.core.connectors.lakehouse._files import TableFiles

VISITS = "web_user_analytics.silver.visits"
ZOE = "zoe-4471"
OTHERS = [("ann-3001", "pricing", 1), ("max-2208", "cart", 1), ("max-2208", "home", 1)]
BUCKET = "lake-under-test"


def visits(*rows: tuple[str, str, int]) -> pa.Table:
    return pa.table(
        {
            "user_id": [user for user, _, _ in rows],
            "page": [page for _, page, _ in rows],
            "n": pa.array([n for _, _, n in rows], pa.int64()),
        }
    )


def zoe_through_every_kind_of_commit(lake: Lakehouse) -> None:
    lake.append(
        VISITS, visits((ZOE, "home", 1), ("max-2208", "home", 1), ("ann-3001", "pricing", 1))
    )
    lake.merge(VISITS, visits((ZOE, "home", 2)), ["user_id", "page"])
    lake.append(VISITS, visits((ZOE, "cart", 1), ("max-2208", "cart", 1)))
    lake.checkpoint(VISITS)
    digest = hashlib.sha256(ZOE.encode()).hexdigest()
    # By hash, as an erasure does: Delta keeps every delete's predicate in its log.
    assert lake.delete(VISITS, f"sha256(\"user_id\") IN (X'{digest}')").rows == 2


def hers(rows: pa.Table) -> pa.ChunkedArray:
    return pc.equal(rows["user_id"], ZOE)


def content(rows: pa.Table) -> list[tuple[str, str, int]]:
    return sorted(zip(*(rows[c].to_pylist() for c in ("user_id", "page", "n")), strict=True))


# --- where the lake lives --------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's) on a free loopback port, with an empty bucket.

    In a process of its own: delta-rs holds the GIL while it waits for an answer, so a server
    thread in this process would never get to answer it.
    """
    import boto3  # with moto, from requirements-dev.txt

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        _when_listening(client, server)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait()


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lakehouse:
    """An empty lake in a temporary folder, or under a fresh prefix of the S3 bucket."""
    if request.param == "local":
        return Lakehouse(tmp_path / "lake")
    endpoint = request.getfixturevalue("s3_endpoint")
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        # One writer per table in these tests; a real deployment names a locking provider.
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    return Lakehouse(f"s3://{BUCKET}/{tmp_path.name}", options)


def stored(lake: Lakehouse) -> dict[str, bytes]:
    """Every file under the table as stored, read without the code under test: from the disk,
    or from the bucket with boto3."""
    if lake.is_local:
        folder = Path(lake.uri(VISITS))
        return {
            str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=(lake.storage_options or {})["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    prefix = lake.uri(VISITS).removeprefix(f"s3://{BUCKET}/") + "/"
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"].removeprefix(prefix): client.get_object(Bucket=BUCKET, Key=item["Key"])[
            "Body"
        ].read()
        for item in listed
    }


def files_naming_her(lake: Lakehouse) -> list[str]:
    """Stored files (Parquet read as rows, the rest as bytes) in which zoe's id appears."""
    found = []
    for path, raw in stored(lake).items():
        text = raw
        if path.endswith(".parquet"):
            text = orjson.dumps(pq.read_table(pa.BufferReader(raw)).to_pylist(), default=str)
        if ZOE.encode() in text:
            found.append(path)
    return sorted(found)


def readable_versions(lake: Lakehouse) -> dict[int, pa.Table]:
    """Every version time travel still reads (the purge vacuums the files of older ones)."""
    versions = {}
    for version in range(lake.version(VISITS) + 1):
        try:
            versions[version] = lake.read(VISITS, version=version)
        except (OSError, pa.ArrowException) as exc:
            assert_a_file_is_gone(exc)
    return versions


def change_feeds(lake: Lakehouse) -> dict[int, pa.Table]:
    """The change feed from every version it can still be read from."""
    feeds = {}
    for version in range(-1, lake.version(VISITS)):
        try:
            feeds[version] = lake.changes_since(VISITS, version)
        except (OSError, pa.ArrowException) as exc:
            assert_a_file_is_gone(exc)
    return feeds


def assert_a_file_is_gone(error: Exception) -> None:
    """The one way a version may fail to read: the purge vacuumed one of its files."""
    assert "not found" in str(error), error


# --- the purge -------------------------------------------------------------------------------


def test_before_the_purge_her_rows_are_in_history(lake: Lakehouse) -> None:
    zoe_through_every_kind_of_commit(lake)

    assert content(lake.read(VISITS)) == OTHERS
    assert ZOE in lake.read(VISITS, version=2)["user_id"].to_pylist()
    naming = files_naming_her(lake)
    assert any(path.startswith("_change_data/") for path in naming)
    assert any(path.startswith("_delta_log/") for path in naming)
    assert lake.files_holding(VISITS, hers, ["user_id"])  # old data files and change data


def test_after_the_purge_no_file_or_version_holds_her(lake: Lakehouse) -> None:
    zoe_through_every_kind_of_commit(lake)

    purged = lake.purge_history(VISITS, hers, naming=[ZOE])

    assert files_naming_her(lake) == []
    assert lake.files_holding(VISITS, hers, ["user_id"]) == []
    assert lake.files_naming(VISITS, [ZOE]) == lake.files_naming(VISITS, ["nobody"])
    versions = readable_versions(lake)
    assert 3 in versions
    assert all(ZOE not in rows["user_id"].to_pylist() for rows in versions.values())
    feeds = change_feeds(lake)
    assert 2 in feeds  # the feed of the delete itself, which held her rows
    assert all(ZOE not in rows["user_id"].to_pylist() for rows in feeds.values())
    # v0's file (zoe, max, ann) and v1's and v2's superseded files are gone; both change-data
    # files lost her rows (the merge's pre- and post-image, the delete's two rows).
    assert purged.files_vacuumed >= 3
    assert (purged.change_files_scrubbed, purged.change_rows_scrubbed) == (2, 4)
    assert purged.log_files_scrubbed >= 3  # the three commits that added her, the checkpoint


def test_the_other_rows_stay_and_the_table_stays_writable(lake: Lakehouse) -> None:
    zoe_through_every_kind_of_commit(lake)
    lake.purge_history(VISITS, hers, naming=[ZOE])

    assert content(lake.read(VISITS)) == OTHERS
    written = lake.append(VISITS, visits(("ann-3001", "home", 1)))
    lake.merge(VISITS, visits(("max-2208", "home", 5)), ["user_id", "page"])

    assert content(lake.read(VISITS)) == [
        ("ann-3001", "home", 1),
        ("ann-3001", "pricing", 1),
        ("max-2208", "cart", 1),
        ("max-2208", "home", 5),
    ]
    changes = lake.changes_since(VISITS, written.version - 1)
    assert sorted(changes["_change_type"].to_pylist()) == [
        "insert",
        "update_postimage",
        "update_preimage",
    ]


def test_a_second_purge_finds_nothing_to_do(lake: Lakehouse) -> None:
    zoe_through_every_kind_of_commit(lake)
    lake.purge_history(VISITS, hers, naming=[ZOE])
    after_first = {p: raw for p, raw in stored(lake).items() if not p.startswith("_delta_log/")}

    again = lake.purge_history(VISITS, hers, naming=[ZOE])

    assert again == Purged(0, 0, 0, 0)
    assert {p: raw for p, raw in stored(lake).items() if not p.startswith("_delta_log/")} == (
        after_first
    )
    assert content(lake.read(VISITS)) == OTHERS


class ProcessDied(BaseException):
    """What the test raises where a real process would have been killed."""


def test_a_purge_killed_while_rewriting_leaves_every_version_readable_and_a_rerun_finishes(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The case that matters: killed in the middle of rewriting the second change-data file,
    # after the vacuum and the first rewrite. Change-feed readers fetch those files by their
    # recorded size, so a half-written file would break every incremental reader.
    zoe_through_every_kind_of_commit(lake)
    replace = TableFiles.replace
    replaced: list[str] = []
    unfinished = []

    def killed_on_the_second_file(files: TableFiles, path: str, content: bytes) -> None:
        if not unfinished and any(p.startswith("_change_data/") for p in replaced):
            stream = files._store.open_output_stream(path, None)
            stream.write(content[: len(content) // 2])
            unfinished.append(stream)  # never closed, as by a process that died
            raise ProcessDied
        replaced.append(path)
        replace(files, path, content)

    monkeypatch.setattr(TableFiles, "replace", killed_on_the_second_file)
    with pytest.raises(ProcessDied):
        lake.purge_history(VISITS, hers, naming=[ZOE])
    monkeypatch.undo()

    feeds = change_feeds(lake)
    assert 2 in feeds and content(lake.read(VISITS)) == OTHERS
    # One change-data file still holds her: the rerun must finish the job.
    assert len(lake.files_holding(VISITS, hers, ["user_id"])) == 1

    rerun = lake.purge_history(VISITS, hers, naming=[ZOE])

    assert (rerun.change_files_scrubbed, rerun.change_rows_scrubbed) == (1, 2)
    assert files_naming_her(lake) == []
    assert content(lake.read(VISITS)) == OTHERS
    assert 2 in change_feeds(lake)


# --- retention's use: the change data of one commit --------------------------------------------


def test_scrubbing_one_commits_change_data_leaves_the_others(lake: Lakehouse) -> None:
    zoe_through_every_kind_of_commit(lake)

    scrubbed = lake.scrub_change_data(VISITS, hers, version=3)

    assert scrubbed == Scrubbed(files=1, rows=2)
    assert lake.changes_since(VISITS, 2).num_rows == 0  # v3 deleted only her rows
    merge_images = lake.changes_since(VISITS, 0, until=1)
    assert merge_images["user_id"].to_pylist() == [ZOE, ZOE]  # v1's change data untouched
    assert lake.scrub_change_data(VISITS, hers, version=3) == Scrubbed(0, 0)
    assert lake.scrub_change_data(VISITS, hers, version=2) == Scrubbed(0, 0)  # an append


def _when_listening(client: Any, server: subprocess.Popen[bytes]) -> None:
    """Return once the server answers; fail if it exits first (e.g. `moto` not installed)."""
    import botocore.exceptions

    for attempt in tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(botocore.exceptions.EndpointConnectionError),
        wait=tenacity.wait_fixed(0.1),
        stop=tenacity.stop_after_attempt(600),  # a minute for a slow machine to start it
        reraise=True,
    ):
        with attempt:
            if server.poll() is not None:
                pytest.fail(f"the S3 server exited with {server.returncode} before answering")
            client.list_buckets()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
