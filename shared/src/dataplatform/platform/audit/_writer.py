"""Buffered audit writing: a request hands its entry over and goes on; a thread appends batches.

The appending itself (hashing the chain, writing the rows) runs in a child process of its own.
In the server's process it would hold the interpreter lock for milliseconds at every batch,
while the event loop waits for it: measured, that alone tripled the gateway's p99 latency.

`close()` (the app's shutdown) appends everything still buffered, so a clean shutdown loses
nothing. An append that keeps failing is retried with the entries kept in order; only a process
killed outright loses what it had buffered (at most `flush_interval_ms` of entries). An entry
whose detail is not JSON is refused in `record`, at its caller, so it can never block a batch.
"""

import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import orjson
from prometheus_client import Counter, Gauge

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit._chain import AuditEntry, AuditLog, detail_json

logger = logging.getLogger(__name__)

APPENDED = Counter("dataplatform_audit_entries_total", "Audit entries appended to the chain.")
PENDING = Gauge("dataplatform_audit_pending_entries", "Audit entries buffered, not yet appended.")
_FAILURE_PAUSE_SECONDS = 1.0
_SERVER_CHECK_SECONDS = 1.0


class AuditWriter:
    """Collects entries from any thread; a background thread hands them, a batch at a time, to
    the appender process and waits for each to be committed."""

    def __init__(self, log: AuditLog, flush_interval_ms: int = 200, batch_size: int = 500) -> None:
        self.log = log
        self.flush_interval = flush_interval_ms / 1000
        self.batch_size = batch_size
        self._queue: queue.SimpleQueue[AuditEntry] = queue.SimpleQueue()
        self._carried: list[AuditEntry] = []  # taken from the queue, not yet appended
        self._closed = threading.Event()
        # Held while recording and while closing, so no entry slips in after the last drain.
        self._recording = threading.Lock()
        self._idle = threading.Condition()
        self._appender: ProcessPoolExecutor | None = None  # started with the first batch
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, entry: AuditEntry) -> None:
        """Buffer `entry`; never blocks on the database."""
        try:
            detail_json(entry.detail)
        except orjson.JSONEncodeError as exc:
            raise TypeError(
                f"The detail of audit entry `{entry.action}` is not JSON ({exc}); record "
                "strings, numbers, lists and dicts."
            ) from None
        with self._recording:
            if self._closed.is_set():
                raise RuntimeError("the audit writer is closed; entries can no longer be recorded")
            self._queue.put(entry)
        PENDING.inc()

    @property
    def alive(self) -> bool:
        """Whether the background thread is still appending."""
        return self._thread.is_alive()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything recorded so far is appended."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while not (self._queue.empty() and not self._carried):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"audit entries still buffered after {timeout} s")
                self._idle.wait(min(remaining, self.flush_interval))

    def close(self, timeout: float = 30.0) -> None:
        """Append what is buffered and stop the thread."""
        with self._recording:
            self._closed.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("audit writer did not finish within %s s; entries may be lost", timeout)
        if self._appender is not None:
            self._appender.shutdown(wait=True)

    def _run(self) -> None:
        while True:
            closing = self._closed.wait(self.flush_interval)
            self._drain()
            if closing and self._queue.empty() and not self._carried:
                return

    def _drain(self) -> None:
        while True:
            while len(self._carried) < self.batch_size:
                try:
                    self._carried.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._carried:
                with self._idle:
                    self._idle.notify_all()
                return
            try:
                self._append(self._carried)
            except Exception:
                logger.exception(
                    "audit append failed; %d entries kept to retry", len(self._carried)
                )
                time.sleep(_FAILURE_PAUSE_SECONDS)
                return
            APPENDED.inc(len(self._carried))
            PENDING.dec(len(self._carried))
            self._carried = []

    def _append(self, entries: Sequence[AuditEntry]) -> None:
        if self._appender is None:
            self._appender = ProcessPoolExecutor(
                max_workers=1,
                mp_context=_APPENDERS,
                initializer=_open_log,
                initargs=(self.log.store.url.render_as_string(hide_password=False), os.getpid()),
            )
        try:
            self._appender.submit(_append_in_appender, list(entries)).result()
        except BrokenProcessPool:
            self._appender = None  # the next attempt starts a new one
            if self.log.holds(entries[0]):  # it died after its commit, before answering
                logger.error("the audit appender died after appending a batch; carrying on")
                return
            raise


# Appenders are forked from a clean, single-threaded server process that has imported this
# module once (forking the server itself, which runs threads, would not be safe); a new appender
# then starts in milliseconds instead of importing everything again.
_APPENDERS = multiprocessing.get_context("forkserver")
_APPENDERS.set_forkserver_preload([__name__])

# The appender process's chain, opened once by `_open_log` when the process starts.
_appender_log: AuditLog | None = None


def _open_log(database_url: str, server: int) -> None:
    global _appender_log
    _appender_log = AuditLog(MetadataStore(database_url))
    threading.Thread(target=_exit_without, args=(server,), daemon=True).start()


def _exit_without(server: int) -> None:
    """End the appender once the server that started it is gone: killed outright, it cannot
    say so, and the appender's own pipes would keep it (and its forkserver) waiting forever."""
    while True:
        time.sleep(_SERVER_CHECK_SECONDS)
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            os._exit(0)


def _append_in_appender(entries: list[AuditEntry]) -> None:
    if _appender_log is None:
        raise RuntimeError("the audit appender process was started without its database")
    _appender_log.append(entries)
