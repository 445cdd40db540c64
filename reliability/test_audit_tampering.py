"""Part 4: every way of damaging the audit chain by hand (audit_tampering.py), run against a real
store (SQLite, PostgreSQL) and lake: verify reports each one."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from _harness import Report
from audit_tampering import TAMPERINGS, published_chain

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import verify

RESULTS: dict[str, list[str]] = {}  # database -> one table row per tampering


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    """A migrated store on each database, dropped afterwards."""
    if request.param == "sqlite":
        yield from migrated(f"sqlite:///{tmp_path / 'metadata.db'}")
        return
    server = str(request.getfixturevalue("postgres_server"))
    name = f"dataplatform_reliability_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sqlalchemy.make_url(server).set(database=name)
        yield from migrated(url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated(url: str) -> Iterator[MetadataStore]:
    store = MetadataStore(url)
    store.upgrade()
    yield store
    store.dispose()


def test_every_tampering_is_reported_by_verify(
    store: MetadataStore, tmp_path: Path, report: Report
) -> None:
    missed = []
    rows = RESULTS.setdefault(store.engine.dialect.name, [])
    for number, case in enumerate(TAMPERINGS):
        lake = Lakehouse(tmp_path / f"lake-{number}")
        published_chain(store, lake)
        assert verify(store, lake).ok, "the untouched chain must verify before the tampering"
        case.tamper(store, lake)
        result = verify(store, lake)
        found = case.found_in(result)
        rows.append(
            f"| {store.engine.dialect.name} | {case.name} | {case.kind} | {'yes' if found else 'NO'} |"
        )
        if not found:
            missed.append((case.name, [finding.message for finding in result.findings]))

    report.add(
        "Audit tampering",
        f"Sizes: the {len(TAMPERINGS)} tamper cases of `shared/tests/platform/audit/"
        "audit_tampering.py` on a ten-row chain published to a local lake, per database.\n\n"
        "| database | tampering | finding | reported by verify |\n| --- | --- | --- | --- |\n"
        + "\n".join(row for database in sorted(RESULTS) for row in RESULTS[database]),
    )
    assert missed == []
