"""Appending: many processes to one chain, many threads through the writer, odd values kept whole."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit import AuditEntry, AuditLog, AuditWriter, verify
from dataplatform.platform.collector import free_port

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def entry(number: int) -> AuditEntry:
    return AuditEntry(
        actor=f"user-{number}",
        actor_kind="user",
        action="data.read",
        request_id=f"request-{number}",
        recorded_at=START + timedelta(seconds=number),
    )


APPENDER = """
import sys
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit import AuditEntry, AuditLog

url, worker, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = AuditLog(MetadataStore(url))
print("ready", flush=True)
sys.stdin.readline()  # every process starts appending at once
for batch in range(batches):
    log.append([
        AuditEntry(worker, "user", "test.append", detail={"batch": batch, "item": item})
        for item in range(2)
    ])
"""
PROCESSES = 3
BATCHES = 20


def test_processes_appending_at_once_make_one_chain(store: MetadataStore) -> None:
    url = store.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, url, f"worker-{number}", str(BATCHES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for number in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.close()
    assert [worker.wait(timeout=120) for worker in workers] == [0] * PROCESSES

    rows = AuditLog(store).rows(limit=1000)

    total = PROCESSES * BATCHES * 2
    assert [row.seq for row in rows] == list(range(1, total + 1))
    appended = [(r.entry.actor, r.entry.detail["batch"], r.entry.detail["item"]) for r in rows]
    assert sorted(appended) == sorted(
        (f"worker-{number}", batch, item)
        for number in range(PROCESSES)
        for batch in range(BATCHES)
        for item in range(2)
    )
    for number in range(PROCESSES):
        own = [(batch, item) for actor, batch, item in appended if actor == f"worker-{number}"]
        assert own == sorted(own), "a process's entries keep the order it appended them in"
    assert verify(store).ok


def test_entries_recorded_from_many_threads_are_all_appended_by_close(
    store: MetadataStore,
) -> None:
    writer = AuditWriter(AuditLog(store), flush_interval_ms=20, batch_size=7)

    def record(thread: int) -> None:
        for number in range(50):
            writer.record(
                AuditEntry(f"thread-{thread}", "user", "test.record", detail={"n": number})
            )

    threads = [threading.Thread(target=record, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()

    rows = AuditLog(store).rows(limit=1000)
    assert [row.seq for row in rows] == list(range(1, 401))
    for thread in range(8):
        numbers = [r.entry.detail["n"] for r in rows if r.entry.actor == f"thread-{thread}"]
        assert numbers == list(range(50))
    assert verify(store).ok


def test_a_closed_writer_refuses_entries(store: MetadataStore) -> None:
    writer = AuditWriter(AuditLog(store))
    writer.close()

    with pytest.raises(RuntimeError, match="the audit writer is closed"):
        writer.record(AuditEntry("alice", "user", "auth.login"))


def test_an_entry_whose_detail_is_not_json_is_refused_to_its_caller(store: MetadataStore) -> None:
    writer = AuditWriter(AuditLog(store), flush_interval_ms=20)

    with pytest.raises(
        TypeError, match=r"The detail of audit entry `admin\.users\.create` is not JSON"
    ):
        writer.record(AuditEntry("alice", "user", "admin.users.create", detail={"roles": {"x"}}))
    writer.record(AuditEntry("alice", "user", "admin.users.create", detail={"roles": ["x"]}))
    writer.close()

    (row,) = AuditLog(store).rows()
    assert row.entry.detail == {"roles": ["x"]}


def test_a_huge_user_name_is_clipped_to_its_column_not_lost(store: MetadataStore) -> None:
    # A failed login with a 500-character user name must not fail its whole batch (PostgreSQL
    # refuses values longer than the column).
    log = AuditLog(store)

    log.append([AuditEntry("x" * 500, "user", "auth.login", outcome="failure")])

    (row,) = log.rows()
    assert row.entry.actor == "x" * 199 + "…"
    assert verify(store).ok


def test_a_time_in_another_zone_is_stored_as_the_same_instant(store: MetadataStore) -> None:
    paris = timezone(timedelta(hours=1))
    log = AuditLog(store)

    log.append(
        [
            AuditEntry(
                "alice", "user", "auth.login", recorded_at=datetime(2026, 3, 2, 10, tzinfo=paris)
            )
        ]
    )

    (row,) = log.rows()
    assert row.entry.recorded_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert verify(store).ok


def children(pid: int) -> list[int]:
    """The processes `pid` started, from any of its threads."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(child) for task in tasks for child in (task / "children").read_text().split()]


def appender_pids() -> list[int]:
    """The appender processes: children of the forkserver this process started."""
    servers = [
        pid
        for pid in children(os.getpid())
        if b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return [appender for server in servers for appender in children(server)]


def test_a_killed_appender_is_replaced_and_nothing_is_lost_or_doubled(
    store: MetadataStore,
) -> None:
    # Appenders of writers other tests in this process left running are not this test's.
    others = set(appender_pids())
    writer = AuditWriter(AuditLog(store), flush_interval_ms=20)
    for number in range(1, 11):
        writer.record(entry(number))
    writer.flush()
    (appender,) = set(appender_pids()) - others

    os.kill(appender, signal.SIGKILL)
    for number in range(11, 21):
        writer.record(entry(number))
    writer.close()

    rows = AuditLog(store).rows()
    assert [row.entry.request_id for row in rows] == [f"request-{n}" for n in range(1, 21)]
    assert [row.seq for row in rows] == list(range(1, 21))
    assert verify(store).ok
    assert appender not in appender_pids()


def test_the_log_tells_whether_an_entry_was_appended(store: MetadataStore) -> None:
    log = AuditLog(store)
    log.append([entry(1), entry(2)])

    assert log.holds(entry(1)) and log.holds(entry(2))
    assert not log.holds(entry(3))


@pytest.mark.slow
def test_the_appender_does_not_outlive_a_server_killed_outright(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    MetadataStore(database_url).upgrade()
    port = free_port()
    env = {
        **os.environ,
        "DATAPLATFORM_DATABASE_URL": database_url,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_AUDIT__FLUSH_INTERVAL_MS": "20",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dataplatform")), "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url), "the gateway answers")
        httpx.post(f"{url}/auth/token", data={"username": "nobody", "password": "a-wrong-guess"})
        wait_until(lambda: forkserver_family(server.pid), "the audit appender starts")
        family = forkserver_family(server.pid)
    finally:
        server.kill()
        server.wait()

    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in family), "they end")


def forkserver_family(pid: int) -> list[int]:
    """The forkservers `pid` started, and their children (the appenders)."""
    servers = [
        child
        for child in children(pid)
        if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    return servers + [appender for server in servers for appender in children(server)]


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health").status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)
