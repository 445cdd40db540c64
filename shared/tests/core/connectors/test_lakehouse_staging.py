"""Rows staged as Parquet under the lake root (`Lakehouse.staged`): readable while in use, gone
after, on a local disk and on a real S3 server; a killed run's folder is deleted a day later."""

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import FileSelector, PyFileSystem

from dataplatform.core.connectors.lakehouse import Lakehouse

ROWS = pa.table({"visitor_id": ["a", "b"], "views": [3, 1]})


def test_staged_rows_are_parquet_under_the_root_until_the_context_ends(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path / "lake")

    with lake.staged({"views": ROWS, "empty": ROWS.schema.empty_table()}) as uris:
        assert pq.read_table(uris["views"]).equals(ROWS)
        assert pq.read_table(uris["empty"]).num_rows == 0
        staged = Path(uris["views"])
        assert staged.parent.parent == tmp_path / "lake" / "_staging"

    assert not staged.exists() and not staged.parent.exists()
    assert lake.tables() == []  # staging is no table


def test_a_folder_left_by_a_killed_run_is_deleted_once_a_day_old(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path / "lake")
    staging = tmp_path / "lake" / "_staging"
    day_old = staging / f"{int(time.time()) - 25 * 3600}-killed"
    running = staging / f"{int(time.time()) - 3600}-running"
    for folder in (day_old, running):
        folder.mkdir(parents=True)
        pq.write_table(ROWS, folder / "views.parquet")

    with lake.staged({"views": ROWS}):
        pass

    assert not day_old.exists()
    assert (running / "views.parquet").exists()  # another runner's, still in use


def test_staging_on_an_s3_lake_writes_and_removes_objects(s3_lake: Lakehouse) -> None:
    store = PyFileSystem(DeltaStorageHandler(s3_lake.root, s3_lake.storage_options))

    with s3_lake.staged({"views": ROWS}) as uris:
        assert uris["views"].startswith(f"{s3_lake.root}/_staging/")
        key = uris["views"].removeprefix(f"{s3_lake.root}/")
        assert pq.read_table(key, filesystem=store).equals(ROWS)

    left = store.get_file_info(FileSelector("_staging", allow_not_found=True, recursive=True))
    assert [info.path for info in left if info.is_file] == []


@pytest.mark.parametrize("name", ["../escape", "a/b"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with (
        pytest.raises(ValueError, match=f"staged rows `{name}`: a name of letters, digits"),
        Lakehouse(tmp_path / "lake").staged({name: ROWS}),
    ):
        pass
    assert not (tmp_path / "lake" / "_staging").exists()
