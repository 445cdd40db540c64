"""The suppression guard on a real lake and a real metadata store: a Python model that read an
erased person before the erasure commits after it without them, and person columns stay out of
the tables' file statistics."""

import threading
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.governance import PersonGuard, SuppressionList, guard_of, protect
from dataplatform.core.processing import ModelRunner, RunResult, build_graph, python_model

EVENTS = "shop.bronze.events"
VISITS = "shop.silver.visits"
PEOPLE = {EVENTS: frozenset({"user_id"}), VISITS: frozenset({"user_id"})}
SCHEMA = pa.schema([("user_id", pa.string()), ("page", pa.string())])


@pytest.fixture
def store(tmp_path: Path) -> MetadataStore:
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    return store


def test_a_model_that_read_her_before_the_erasure_commits_without_her(
    tmp_path: Path, store: MetadataStore
) -> None:
    guard = PersonGuard(SuppressionList(store), PEOPLE)
    lake = Lakehouse(tmp_path / "lake", guard=guard)
    lake.append(EVENTS, pa.table({"user_id": ["zoe", "max"], "page": ["/", "/cart"]}, SCHEMA))
    computed, erased = threading.Event(), threading.Event()

    @python_model(
        inputs=["bronze.events"],
        schema=SCHEMA,
        name="silver.visits",
        materialized="append",
        description="Visits, paused mid-run by the test.",
    )
    def visits(events: pa.Table) -> pa.Table:
        computed.set()
        assert erased.wait(60), "the test never erased zoe"
        return events

    runner = ModelRunner(build_graph("shop", [visits], ["bronze.events"]), lake, store)
    results: list[RunResult] = []
    run = threading.Thread(target=lambda: results.extend(runner.run()))
    run.start()
    assert computed.wait(60)
    guard_of(lake).suppress(["zoe"], "request-1")
    erased.set()
    run.join(60)

    assert [r.status for r in results] == ["succeeded"]
    assert lake.read(VISITS)["user_id"].to_pylist() == ["max"]


def test_every_kind_of_write_leaves_erased_people_out(tmp_path: Path, store: MetadataStore) -> None:
    lake = Lakehouse(tmp_path / "lake", guard=PersonGuard(SuppressionList(store), PEOPLE))
    guard_of(lake).suppress(["zoe"], "request-1")
    rows = pa.table({"user_id": ["zoe", "max", None], "page": ["/", "/", "/"]}, SCHEMA)

    lake.append(EVENTS, rows)
    lake.overwrite(EVENTS, rows)
    lake.merge(EVENTS, rows.slice(0, 2), ["user_id"])
    lake.append("shop.gold.pages", rows)  # declares no person: written as it is

    assert sorted(lake.read(EVENTS)["user_id"].to_pylist(), key=str) == [None, "max"]
    assert lake.read("shop.gold.pages").num_rows == 3


def test_person_columns_stay_out_of_file_statistics(tmp_path: Path, store: MetadataStore) -> None:
    lake = Lakehouse(tmp_path / "lake", guard=PersonGuard(SuppressionList(store), PEOPLE))
    lake.append(EVENTS, pa.table({"user_id": ["ann", "bob"], "page": ["/", "/cart"]}, SCHEMA))
    log = Path(lake.uri(EVENTS)) / "_delta_log"
    stats = [
        orjson.loads(action["add"]["stats"])
        for commit in log.glob("*.json")
        for action in map(orjson.loads, commit.read_bytes().splitlines())
        if "add" in action
    ]

    assert [s["minValues"] for s in stats] == [{"page": "/"}]
    assert b"ann" not in b"".join(p.read_bytes() for p in log.glob("*.json"))


def test_each_opener_of_the_lake_hands_the_guard_the_person_columns_it_writes(
    tmp_path: Path, store: MetadataStore
) -> None:
    lake = Lakehouse(tmp_path / "lake")
    first = protect(lake, store, {EVENTS: frozenset({"user_id"})})
    again = protect(lake, store, {VISITS: frozenset({"user_id"})})
    again.suppress(["zoe"], "request-1")
    rows = pa.table({"user_id": ["zoe", "max"], "page": ["/", "/"]}, SCHEMA)

    lake.append(EVENTS, rows)
    lake.append(VISITS, rows)
    lake.append("shop.gold.pages", rows)  # nobody declared a person there

    assert again is first
    assert lake.read(EVENTS)["user_id"].to_pylist() == ["max"]
    assert lake.read(VISITS)["user_id"].to_pylist() == ["max"]
    assert lake.read("shop.gold.pages").num_rows == 2


def test_a_runner_hands_the_guard_its_products_person_columns_bronze_included(
    tmp_path: Path, store: MetadataStore
) -> None:
    @python_model(
        inputs=["bronze.events"],
        schema=SCHEMA,
        name="silver.visits",
        materialized="append",
        description="Visits.",
    )
    def visits(events: pa.Table) -> pa.Table:
        return events

    graph = build_graph("shop", [visits], ["bronze.events"], PEOPLE)
    lake = Lakehouse(tmp_path / "lake")
    ModelRunner(graph, lake, store)
    guard_of(lake).suppress(["zoe"], "request-1")

    lake.append(EVENTS, pa.table({"user_id": ["zoe", "max"], "page": ["/", "/"]}, SCHEMA))

    assert lake.read(EVENTS)["user_id"].to_pylist() == ["max"]


def test_the_list_keeps_hashes_and_says_what_was_new(store: MetadataStore) -> None:
    listed = SuppressionList(store)

    assert listed.add(["zoe", "anon-zoe"], "request-1") == 2
    assert listed.add(["zoe"], "request-2") == 0
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("select id_hash from erased_ids").all()
    assert len(stored) == 2 and not any("zoe" in row[0] for row in stored)


def test_a_lake_without_a_guard_refuses_an_erasure_by_name(tmp_path: Path) -> None:
    with pytest.raises(TerminalError, match="without the suppression list"):
        guard_of(Lakehouse(tmp_path / "lake"))
