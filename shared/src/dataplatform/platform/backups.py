"""Backups of the lake and the metadata store to another location (a folder or an `s3://`
bucket), and their restore into an empty lake and store.

A backup location holds:
- `files/<table folder>/...`: every table's data and log files, each copied once: Delta never
  rewrites a file under the same name, so a later backup copies only the files it has not seen
  (incremental by file), and `files/<table folder>` is itself a Delta table readable at the
  version each backup recorded.
- `backups/<id>/manifest.json`: per table its version, the files and log commits of that
  version and its row count; `backups/<id>/store.json`: every row of the metadata store.
- `erasures/<hash>`: every erased id's hash, copied by each backup; the list only grows, so it
  outlives the backups taken before an erasure.

A restore copies one backup's files into an empty lake, its rows into an empty store (migrated
to the same revision), then replays every erasure the location knows (and the restored store's):
rows of an erased person, which a backup taken before the erasure still holds, are deleted again
and the person is back on the suppression list. A restored backup never resurrects anyone.

The store is read before the tables: a run it records is then never ahead of the tables' files,
and a model after a restore redoes at most what its Delta transaction ids make idempotent. Each
table is consistent at its own version; tables are read one after another, not at one instant.
"""

import base64
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from sqlalchemy import LargeBinary, MetaData, delete, func, insert, select
from sqlalchemy.types import Date, DateTime

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, TableFiles, TableName
from dataplatform.core.errors import InvalidRequestError, NotFoundError, TerminalError
from dataplatform.core.governance import SuppressionList, id_hash

MIGRATIONS_TABLE = "alembic_version"
RESTORE_REQUEST = "restore-replay"


@dataclass(frozen=True)
class BackupReport:
    backup_id: str
    tables: int
    files_copied: int
    files_kept: int  # already in the location from an earlier backup
    bytes_copied: int


class Backups:
    """The backups kept at `location` (a folder or an `s3://` URI, with `storage_options`)."""

    def __init__(self, location: str, storage_options: dict[str, str] | None = None) -> None:
        self.location = location.rstrip("/")
        self.options = storage_options
        if "://" not in self.location:  # the local store opens only a folder that exists
            Path(self.location).mkdir(parents=True, exist_ok=True)
        self._files = TableFiles(self.location, storage_options)

    def create(
        self, lake: Lakehouse, store: MetadataStore, now: datetime | None = None
    ) -> BackupReport:
        """Back up the store, then every table at its current version."""
        created = now or datetime.now(UTC)
        backup_id = created.strftime("%Y%m%dT%H%M%S%fZ")
        dump = _dump_store(store)
        known = set(self._files.listing("files"))
        tables, copied, kept, size = {}, 0, 0, 0
        for name in lake.tables():
            snapshot = lake.table(name)
            version = snapshot.version()
            source = TableFiles(lake.uri(name), lake.storage_options)
            data = sorted(uri.removeprefix(lake.uri(name) + "/") for uri in snapshot.file_uris())
            log = sorted(path for path in source.log_files() if _log_version(path) <= version)
            folder = f"files/{name.relative_path}"
            for path in [*log, *data]:
                target = f"{folder}/{path}"
                if target in known:
                    kept += 1
                    continue
                content = source.read_bytes(path)
                self._files.replace(target, content)
                copied, size = copied + 1, size + len(content)
            rows = snapshot.to_pyarrow_dataset().count_rows()
            tables[str(name)] = {
                "folder": folder,
                "version": version,
                "rows": rows,
                "data": data,
                "log": log,
            }
        self.record_erasures(store)
        manifest = {
            "id": backup_id,
            "created_at": created.isoformat(),
            "tables": tables,
            "store_revision": store.current_revision(),
        }
        self._files.replace(f"backups/{backup_id}/store.json", json.dumps(dump).encode())
        # Last: a backup is listed only once everything it names is there.
        self._files.replace(f"backups/{backup_id}/manifest.json", json.dumps(manifest).encode())
        return BackupReport(backup_id, len(tables), copied, kept, size)

    def record_erasures(self, store: MetadataStore) -> int:
        """Copy the hashes of erased ids the location lacks; how many it lacked."""
        held = set(self._files.listing("erasures"))
        new = [d for d in sorted(SuppressionList(store).listed()) if f"erasures/{d}" not in held]
        for digest in new:
            self._files.replace(f"erasures/{digest}", b"")
        return len(new)

    def listing(self) -> list[dict[str, Any]]:
        """Every complete backup, oldest first: id, time, tables and rows."""
        manifests = [
            self._manifest(path.split("/")[1])
            for path in self._files.listing("backups")
            if path.endswith("/manifest.json")
        ]
        return [
            {
                "id": m["id"],
                "created_at": m["created_at"],
                "tables": len(m["tables"]),
                "rows": sum(t["rows"] for t in m["tables"].values()),
            }
            for m in sorted(manifests, key=lambda m: m["id"])
        ]

    def verify(self, backup_id: str) -> list[str]:
        """What is wrong with a backup: a file missing, or a table that does not read back at
        its version with its row count. Empty when it can be restored."""
        manifest = self._manifest(backup_id)
        present = set(self._files.listing("files"))
        problems = []
        for name, table in manifest["tables"].items():
            missing = [
                p
                for p in [*table["log"], *table["data"]]
                if f"{table['folder']}/{p}" not in present
            ]
            if missing:
                problems.append(f"{name}: {len(missing)} file(s) missing, first {missing[0]}")
                continue
            try:
                rows = (
                    Lakehouse(f"{self.location}/files", self.options)
                    .table(TableName.parse(name), version=table["version"])
                    .to_pyarrow_dataset()
                    .count_rows()
                )
            except Exception as error:  # reported, not raised: verify lists every problem
                problems.append(
                    f"{name}: does not read back at version {table['version']}: {error}"
                )
                continue
            if rows != table["rows"]:
                problems.append(
                    f"{name}: {rows} rows at version {table['version']}, not {table['rows']}"
                )
        return problems

    def restore(
        self,
        backup_id: str,
        lake: Lakehouse,
        store: MetadataStore,
        person_columns: Mapping[str, frozenset[str]],
    ) -> dict[str, Any]:
        """Restore `backup_id` into an empty lake and an empty store at its revision, then
        replay every erasure known; what was restored and erased again."""
        manifest = self._manifest(backup_id)
        _refuse_unless_empty(lake, store, manifest["store_revision"])
        for table in manifest["tables"].values():
            uri = f"{lake.root}/{table['folder'].removeprefix('files/')}"
            if "://" not in uri:  # the local store opens only a folder that exists
                Path(uri).mkdir(parents=True, exist_ok=True)
            target = TableFiles(uri, lake.storage_options)
            for path in [*table["log"], *table["data"]]:
                target.replace(path, self._files.read_bytes(f"{table['folder']}/{path}"))
        _load_store(store, json.loads(self._files.read_bytes(f"backups/{backup_id}/store.json")))
        erased = self._replay_erasures(lake, store, person_columns)
        return {"id": backup_id, "tables": len(manifest["tables"]), "rows_erased_again": erased}

    def _replay_erasures(
        self, lake: Lakehouse, store: MetadataStore, person_columns: Mapping[str, frozenset[str]]
    ) -> int:
        """Delete every row naming an erased id, and list every such id as erased."""
        suppression = SuppressionList(store)
        hashes = suppression.listed() | {
            path.removeprefix("erasures/") for path in self._files.listing("erasures")
        }
        if not hashes:
            return 0
        suppression.add_hashes(hashes - suppression.listed(), RESTORE_REQUEST)
        removed = 0
        for name in lake.tables():
            for column in sorted(person_columns.get(str(name), frozenset())):
                values = pc.unique(lake.read(name, columns=[column])[column]).to_pylist()
                erased = [v for v in values if isinstance(v, str) and id_hash(v) in hashes]
                if erased:
                    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in erased)
                    removed += lake.delete(name, f"{column} in ({listed})").rows
        return removed

    def revision_of(self, backup_id: str) -> str | None:
        """The store's migration revision when the backup was taken."""
        revision: str | None = self._manifest(backup_id)["store_revision"]
        return revision

    def _manifest(self, backup_id: str) -> dict[str, Any]:
        path = f"backups/{backup_id}/manifest.json"
        if path not in self._files.listing("backups"):
            raise NotFoundError(
                f"No complete backup `{backup_id}` at {self.location}; "
                "`dataplatform backup list` shows them."
            )
        manifest: dict[str, Any] = json.loads(self._files.read_bytes(path))
        return manifest


def _log_version(path: str) -> int:
    """The version of a log file (`_delta_log/00000000000000000012.json`, a checkpoint)."""
    return int(path.rsplit("/", 1)[1].split(".", 1)[0])


def _dump_store(store: MetadataStore) -> dict[str, list[dict[str, Any]]]:
    tables = MetaData()
    tables.reflect(store.engine)
    dump = {}
    with store.engine.connect() as connection:
        for table in tables.sorted_tables:
            if table.name != MIGRATIONS_TABLE:
                rows = connection.execute(select(table)).mappings()
                dump[table.name] = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
    return dump


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value.isoformat() if hasattr(value, "isoformat") else value


def _load_store(store: MetadataStore, dump: dict[str, list[dict[str, Any]]]) -> None:
    """Replace every table's rows with the dump's (a migration's seed rows included)."""
    tables = MetaData()
    tables.reflect(store.engine)
    with store.engine.begin() as connection:
        for table in reversed(tables.sorted_tables):
            if table.name in dump:
                connection.execute(delete(table))
        for table in tables.sorted_tables:
            rows = dump.get(table.name, [])
            if not rows:
                continue
            typed = [
                {name: _typed(table.c[name].type, value) for name, value in row.items()}
                for row in rows
            ]
            connection.execute(insert(table), typed)


def _typed(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return datetime.fromisoformat(value).date()
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value


def _refuse_unless_empty(lake: Lakehouse, store: MetadataStore, revision: str | None) -> None:
    if lake.tables():
        raise InvalidRequestError(
            f"The lake at {lake.root} has tables; a backup is restored into an empty lake only.",
            "lake_root",
        )
    if store.current_revision() != revision:
        raise TerminalError(
            f"The store at {store.safe_url} is at revision {store.current_revision()}, the backup "
            f"at {revision}; run `dataplatform db upgrade {revision}` on an empty store first."
        )
    seeded = _seeded_tables(revision)
    tables = MetaData()
    tables.reflect(store.engine)
    with store.engine.connect() as connection:
        for table in tables.sorted_tables:
            if table.name == MIGRATIONS_TABLE or table.name in seeded:
                continue
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise InvalidRequestError(
                    f"The store at {store.safe_url} has rows in `{table.name}`; a backup is "
                    "restored into an empty store only.",
                    "database_url",
                )


def _seeded_tables(revision: str | None) -> set[str]:
    """The tables the migrations themselves fill (a fresh store's only rows)."""
    with tempfile.TemporaryDirectory() as folder:
        fresh = MetadataStore(f"sqlite:///{folder}/fresh.db")
        fresh.upgrade(revision or "head")
        tables = MetaData()
        tables.reflect(fresh.engine)
        with fresh.engine.connect() as connection:
            seeded = {
                table.name
                for table in tables.sorted_tables
                if connection.execute(select(func.count()).select_from(table)).scalar()
            }
        fresh.dispose()
    return seeded
