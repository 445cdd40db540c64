"""The lake on `s3://`, served by a real S3-compatible server on loopback (S3Proxy, see
conftest.py): writes with transactions, reads, the change feed, the table listing (`lake
tables` too), snapshots, maintenance, and several processes committing to one table at once.

The case for the writes, `web_user_analytics.silver.visits` (user_id, page, n):

    v0 append, txn loader/1    ann/home 1, bob/home 1
       (the same append again, txn loader/1: skipped, nothing committed)
    v1 merge on (user_id, page), txn loader/2    ann/home 2, cid/cart 1
    v2 replace where user_id = 'bob', txn loader/3    bob/shop 5
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import CommitProperties, write_deltalake
from deltalake.exceptions import CommitFailedError

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import (
    Lakehouse,
    MaintenancePolicy,
    Snapshots,
    Txn,
    maintain,
)
from dataplatform.core.connectors.lakehouse._files import TableFiles
from dataplatform.core.errors import ConfigError
from dataplatform.devtools.s3_server import S3Server

VISITS = "web_user_analytics.silver.visits"
EVENTS = "mobile_user_analytics.bronze.app_events"
CLI = str(Path(sys.executable).with_name("dataplatform"))


def visits(*rows: tuple[str, str, int]) -> pa.Table:
    return pa.table(
        {
            "user_id": [user for user, _, _ in rows],
            "page": [page for _, page, _ in rows],
            "n": pa.array([n for _, _, n in rows], pa.int64()),
        }
    )


def content(rows: pa.Table) -> list[tuple[str, str, int]]:
    return sorted(zip(*(rows[c].to_pylist() for c in ("user_id", "page", "n")), strict=True))


def stored_files(server: S3Server, lake: Lakehouse, name: str) -> list[str]:
    """The table's objects as the server keeps them on its disk, read without the S3 API."""
    folder = server.stored(lake.uri(name))
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_writes_with_transactions_are_read_back_at_every_version(s3_lake: Lakehouse) -> None:
    first = s3_lake.append(
        VISITS, visits(("ann", "home", 1), ("bob", "home", 1)), txn=Txn("loader", 1)
    )
    replayed = s3_lake.append(VISITS, visits(("ann", "home", 1)), txn=Txn("loader", 1))
    s3_lake.merge(
        VISITS,
        visits(("ann", "home", 2), ("cid", "cart", 1)),
        ["user_id", "page"],
        txn=Txn("loader", 2),
    )
    s3_lake.overwrite(
        VISITS, visits(("bob", "shop", 5)), predicate="user_id = 'bob'", txn=Txn("loader", 3)
    )

    assert (first.version, replayed.skipped, replayed.version) == (0, True, 0)
    assert content(s3_lake.read(VISITS)) == [
        ("ann", "home", 2),
        ("bob", "shop", 5),
        ("cid", "cart", 1),
    ]
    assert content(s3_lake.read(VISITS, version=0)) == [("ann", "home", 1), ("bob", "home", 1)]
    assert s3_lake.version(VISITS) == 2
    assert s3_lake.transaction_version(VISITS, "loader") == 3


def test_the_change_feed_of_a_merge_has_both_images_of_an_update(s3_lake: Lakehouse) -> None:
    s3_lake.append(VISITS, visits(("ann", "home", 1), ("bob", "home", 1)))
    s3_lake.merge(VISITS, visits(("ann", "home", 2), ("cid", "cart", 1)), ["user_id", "page"])

    changes = s3_lake.changes_since(VISITS, 0)

    assert sorted(
        zip(
            *(changes[c].to_pylist() for c in ("_change_type", "user_id", "n", "_commit_version")),
            strict=True,
        )
    ) == [
        ("insert", "cid", 1, 1),
        ("update_postimage", "ann", 2, 1),
        ("update_preimage", "ann", 1, 1),
    ]
    assert s3_lake.changes_since(VISITS, 1).num_rows == 0


def test_tables_are_listed_from_the_bucket_and_a_folder_without_a_log_is_no_table(
    s3_lake: Lakehouse, s3_server: S3Server
) -> None:
    s3_lake.append(VISITS, visits(("ann", "home", 1)))
    s3_lake.append(EVENTS, pa.table({"event_id": ["e1"]}))
    s3_lake.append(EVENTS, pa.table({"event_id": ["e2"]}))
    # Objects three levels down, but no Delta log: not a table.
    TableFiles(s3_lake.uri("web_user_analytics.gold.notes"), s3_lake.storage_options).replace(
        "readme.txt", b"not a table"
    )

    listed = s3_lake.tables()
    cli = subprocess.run(
        [CLI, "lake", "tables"],
        env={
            **os.environ,
            "DATAPLATFORM_LAKE_ROOT": s3_lake.root,
            "DATAPLATFORM_STORAGE_OPTIONS": json.dumps(s3_server.storage_options),
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert [str(name) for name in listed] == [EVENTS, VISITS]
    assert cli.returncode == 0, cli.stderr
    printed = [line.replace("│", " ").split() for line in cli.stdout.splitlines()]
    assert [EVENTS, "1"] in printed and [VISITS, "0"] in printed  # rows: name, version
    assert "notes" not in cli.stdout


def test_a_snapshot_restores_every_table_of_the_bucket(s3_lake: Lakehouse, tmp_path: Path) -> None:
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    s3_lake.append(VISITS, visits(("ann", "home", 1)))
    s3_lake.append(EVENTS, pa.table({"event_id": ["e1"]}))
    snapshots = Snapshots(s3_lake, store)
    snapshot = snapshots.create("before-backfill")

    s3_lake.overwrite(VISITS, visits(("zed", "away", 9)))
    s3_lake.append(EVENTS, pa.table({"event_id": ["e2"]}))
    result = snapshots.restore("before-backfill")

    assert snapshot.versions == {EVENTS: 0, VISITS: 0}
    assert result.restored == {EVENTS: 0, VISITS: 0}
    assert content(s3_lake.read(VISITS)) == [("ann", "home", 1)]
    assert s3_lake.read(EVENTS)["event_id"].to_pylist() == ["e1"]
    store.dispose()


def test_maintenance_compacts_checkpoints_and_vacuums_the_bucket(
    s3_lake: Lakehouse, s3_server: S3Server
) -> None:
    # No retention: the compacted files are removed by the same maintenance.
    s3_lake.create(
        EVENTS,
        pa.schema([("event_id", pa.string())]),
        properties={"delta.deletedFileRetentionDuration": "interval 0 hours"},
    )
    for n in range(10):
        s3_lake.append(EVENTS, pa.table({"event_id": [f"e{n}"]}))

    done = maintain(s3_lake, EVENTS, MaintenancePolicy(min_small_files=8, vacuum_retention_hours=0))

    assert (done.compaction, done.files_before, done.files_after) == ("bin_pack", 10, 1)
    assert done.files_vacuumed == 10
    data = [
        path
        for path in stored_files(s3_server, s3_lake, EVENTS)
        if path.endswith(".parquet") and "/" not in path
    ]
    assert len(data) == 1
    assert "_delta_log/_last_checkpoint" in stored_files(s3_server, s3_lake, EVENTS)
    assert sorted(s3_lake.read(EVENTS)["event_id"].to_pylist()) == sorted(
        f"e{n}" for n in range(10)
    )


def test_an_s3_lake_turns_the_conditional_put_on_and_refuses_to_turn_it_off() -> None:
    options = {"AWS_REGION": "us-east-1"}

    assert Lakehouse("s3://lake/x", options).storage_options == {
        "AWS_REGION": "us-east-1",
        "AWS_CONDITIONAL_PUT": "etag",
    }
    assert Lakehouse("/tmp/lake", options).storage_options == options
    with pytest.raises(ConfigError, match="`aws_conditional_put` turns S3's conditional put off"):
        Lakehouse("s3://lake/x", {"aws_conditional_put": "disabled"})


def test_the_server_refuses_a_second_commit_of_one_version(s3_lake: Lakehouse) -> None:
    s3_lake.append(VISITS, visits(("ann", "home", 1)))
    behind = s3_lake.table(VISITS)  # at version 0
    s3_lake.append(VISITS, visits(("bob", "home", 1)))  # version 1

    # A writer still at version 0 asks for version 1 as well (no retry): `If-None-Match: *`.
    with pytest.raises(CommitFailedError):
        write_deltalake(
            behind,
            visits(("cid", "cart", 1)),
            mode="append",
            commit_properties=CommitProperties(max_commit_retries=0),
        )

    assert content(s3_lake.read(VISITS)) == [("ann", "home", 1), ("bob", "home", 1)]


def test_the_conditional_put_stays_on_whatever_the_environment_says(
    s3_lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # delta-rs reads AWS_* variables for the options it is not given.
    monkeypatch.setenv("AWS_CONDITIONAL_PUT", "disabled")

    s3_lake.append(VISITS, visits(("ann", "home", 1)))
    s3_lake.append(VISITS, visits(("bob", "home", 1)))

    assert s3_lake.version(VISITS) == 1


WRITER = textwrap.dedent(
    """
    import json, sys
    import pyarrow as pa
    from dataplatform.core.connectors.lakehouse import Lakehouse

    root, table, writer, commits, options = sys.argv[1:]
    lake = Lakehouse(root, json.loads(options))
    for commit in range(int(commits)):
        lake.append(table, pa.table({"writer": [int(writer)], "commit": [commit]}))
    """
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_four_processes_committing_fifty_times_each_lose_no_commit(
    s3_lake: Lakehouse, s3_server: S3Server
) -> None:
    s3_lake.create(EVENTS, pa.schema([("writer", pa.int64()), ("commit", pa.int64())]))
    options = json.dumps(s3_server.storage_options)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, s3_lake.root, EVENTS, str(w), "50", options],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=600)
        assert writer.returncode == 0, stderr

    table = s3_lake.read(EVENTS)
    written = sorted(zip(table["writer"].to_pylist(), table["commit"].to_pylist(), strict=True))
    assert written == [(w, c) for w in range(4) for c in range(50)]
    # Version 0 created the table; each of the 200 appends has a version of its own.
    assert sorted(commit["version"] for commit in s3_lake.history(EVENTS)) == list(range(201))
    commits = [
        path
        for path in stored_files(s3_server, s3_lake, EVENTS)
        if path.startswith("_delta_log/0") and path.endswith(".json")
    ]
    assert len(commits) == 201  # on the server's disk: none overwritten, none left half-written
