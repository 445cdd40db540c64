"""Backup and restore at the scale users have (issue 20): how long a full backup, the next
(incremental) one after a tick, a verify and a restore into an empty lake and store take.

    .venv/bin/python benchmarks/backups.py --events 2000000 --days 90 --write docs/BENCHMARKS.md

The lake is `products.py`'s: `--events` over `--days` of history in bronze, each product's
models run over it, the scheduled compaction. Then: a full backup to a fresh folder; `--arrive`
new events and each product's tick; the incremental backup; verify; restore into an empty lake
and store. The restore's time is the data part of the recovery time (docs/disaster-recovery.md);
the baseline in the same run is a plain copy of the lake's folder (`shutil.copytree`).
"""

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _measure import machine, write_section

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.governance import protect
from dataplatform.core.product import declared_person_columns
from dataplatform.platform.backups import Backups
from products import PRODUCTS, SEED, Platform, arrive, compact, generate, history_volume, in_child

SECTION = "Backups: full, incremental, verify and restore"


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(events: int, days: int, arriving: int) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory(prefix="backups-bench-") as scratch:
        folder = Path(scratch)
        platform = Platform.create(folder / "live")
        history = history_volume(events, days, datetime.now(UTC).date())
        generate(platform.lake, [history])
        for product in PRODUCTS.values():
            in_child(platform, "models", product, 0)
        compact(platform.lake)
        lake = platform.lake
        store = MetadataStore(platform.environment["DATAPLATFORM_DATABASE_URL"])
        protect(lake, store, declared_person_columns())
        backups = Backups(str(folder / "backups"))
        lake_bytes = folder_bytes(folder / "live" / "lake")

        started = time.perf_counter()
        shutil.copytree(folder / "live" / "lake", folder / "copy")
        copy_seconds = time.perf_counter() - started

        started = time.perf_counter()
        full = backups.create(lake, store)
        full_seconds = time.perf_counter() - started

        arrive(lake, history, arriving, SEED + 100)
        for product in PRODUCTS.values():
            in_child(platform, "models", product, 0)
        started = time.perf_counter()
        incremental = backups.create(lake, store)
        incremental_seconds = time.perf_counter() - started

        started = time.perf_counter()
        problems = backups.verify(incremental.backup_id)
        verify_seconds = time.perf_counter() - started
        if problems:
            raise SystemExit(f"the backup does not verify: {problems}")

        restored_store = MetadataStore(f"sqlite:///{folder / 'restored.db'}")
        restored_store.upgrade()
        restored = Lakehouse(folder / "restored")
        protect(restored, restored_store, declared_person_columns())
        started = time.perf_counter()
        backups.restore(incremental.backup_id, restored, restored_store, declared_person_columns())
        restore_seconds = time.perf_counter() - started
        return [
            (
                "plain copy of the lake's folder (baseline)",
                copy_seconds,
                f"{lake_bytes / 1e6:,.0f} MB",
            ),
            (
                "full backup",
                full_seconds,
                f"{full.files_copied:,} files, {full.bytes_copied / 1e6:,.0f} MB, {full.tables} tables",
            ),
            (
                f"incremental backup after {arriving:,} new events and a tick",
                incremental_seconds,
                f"{incremental.files_copied:,} files copied, {incremental.files_kept:,} already there",
            ),
            ("verify (every table read back at its version)", verify_seconds, ""),
            ("restore into an empty lake and store", restore_seconds, ""),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--arrive", type=int, default=20_000)
    parser.add_argument("--write", type=Path, help="update this markdown file's section")
    args = parser.parse_args()
    figures = measure(args.events, args.days, args.arrive)
    lines = [
        f"Command: `.venv/bin/python benchmarks/backups.py --events {args.events} --days "
        f"{args.days} --arrive {args.arrive}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {machine()}. A lake of {args.events:,} events over {args.days} days after "
        "every product's models; the backups go to a folder on the same disk.",
        "",
        "| step | seconds | what |",
        "|---|---:|---|",
        *(f"| {step} | {seconds:.2f} | {what} |" for step, seconds, what in figures),
    ]
    section = "\n".join(lines)
    print(section)
    if args.write:
        write_section(args.write, SECTION, section)


if __name__ == "__main__":
    sys.exit(main())
