"""The write gate: how a server process waits for SQLite's one write lock without stalling.

SQLite lets one connection write at a time, in the whole file; the others wait on the busy
timeout. Before the gate, every request thread of a process could sit in that wait at once (20 s
by default) while another process held the lock, so /healthz and the delivery API, which never
write, queued behind them, and writes past the timeout answered 500.

In a server process (wsgi.py turns it on) a statement that takes the lock outside a transaction
(Django's BEGIN IMMEDIATE, an autocommit UPDATE) first takes this process's gate, then the
server processes' writers mutex (core/sqlite/mutex.py), and keeps both until its transaction
ends (COMMIT, ROLLBACK or close; an autocommit statement's right after it): the next writer, of
this process or another, is woken the moment they are let go, instead of by SQLite's busy
handler, which sleeps up to 100 ms between looks at the lock.

- one thread at a time waits for the mutex and the lock, each at most
  SEGOPS_SQLITE_WRITE_WAIT_SECONDS (the lock's busy timeout, for a holder that does not take
  the mutex: the task worker, a command); the others queue on the gate as long as the database
  makes progress: under normal contention, however heavy, someone commits every few
  milliseconds (the WAL file changes); when nobody has committed for STALL_SECONDS the lock is
  held by someone who is not writing. While the gate's holder is running its own transaction
  they wait for it at most SEGOPS_SQLITE_WRITE_WAIT_SECONDS;
- a writer that cannot get the gate in that time, or the mutex or the lock in its wait, marks
  the process *stalled*: from then on writers are refused at once (`WriteLockBusy`, answered
  503 with Retry-After by core/outage.py), except one that keeps trying, until one gets the lock.

So while another process holds the lock for a long time at most one thread per process waits,
the others answer reads and refuse writes at once, and nothing is written half: a refused write
never began its transaction. `write_without_waiting()` is for optional bookkeeping on read paths
(a key's last use), which is skipped rather than waited for.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from segops_server.core.outage import WriteLockBusy
from segops_server.core.sqlite.mutex import writers_mutex

STALL_SECONDS = 0.5  # no commit by anyone for this long while a writer waits: the lock is held
POLL_SECONDS = 0.02
_WRITES = ("BEGIN", "INSERT", "UPDATE", "DELETE", "REPLACE")


def takes_write_lock(query: str) -> bool:
    """BEGIN (IMMEDIATE, as settings.py configures it) and the statements that write."""
    return query.lstrip()[:7].upper().startswith(_WRITES)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or str(exc).startswith(
        "database is locked"
    )


def _last_commit(path: str) -> int:
    """When the database last changed on disk (a commit appends to the WAL), in nanoseconds."""
    latest = 0
    for name in (f"{path}-wal", path):
        try:
            latest = max(latest, os.stat(name).st_mtime_ns)
        except OSError:
            continue
    return latest


class WriteGate:
    def __init__(self) -> None:
        self._gate = threading.Lock()
        self._local = threading.local()
        self.wait_seconds: float = 0.0
        self.stalled = False
        self._writing = False  # the gate's holder has the lock and is in its transaction

    @property
    def enabled(self) -> bool:
        return self.wait_seconds > 0

    def enable(self, wait_seconds: float) -> None:
        self.wait_seconds, self.stalled = float(wait_seconds), False

    def disable(self) -> None:
        self.wait_seconds, self.stalled = 0.0, False

    def _refuse(self, why: str) -> WriteLockBusy:
        return WriteLockBusy(f"database is locked ({why})")

    def _queue(self, path: str) -> bool:
        """Wait for the gate while the database is making progress; False once it has not
        changed for STALL_SECONDS (the lock is held by someone who is not writing)."""
        seen, seen_at = _last_commit(path), time.monotonic()
        started = seen_at
        while not self._gate.acquire(timeout=POLL_SECONDS):
            if self.stalled:
                return False
            now, changed = time.monotonic(), _last_commit(path)
            if self._writing:  # a thread of this process has the lock: its transaction is running
                if now - started > self.wait_seconds:
                    return False
                seen, seen_at = changed, now
            elif changed != seen:
                seen, seen_at = changed, now
            elif now - seen_at > STALL_SECONDS:
                self.stalled = True
                return False
        return True

    @contextmanager
    def turn(self, db: sqlite3.Connection, path: str) -> Iterator[None]:
        """Run one lock-taking statement of `db` (the database at `path`) as this process's only
        writer; if it began a transaction, the turn lasts until that ends (`end`)."""
        no_wait = getattr(self._local, "no_wait", False)
        if not self._gate.acquire(blocking=False) and (no_wait or self.stalled or not self._queue(path)):
            raise self._refuse("another write of this server is waiting for it")
        mutex = writers_mutex(path)
        try:
            if not mutex.acquire(0 if no_wait else self.wait_seconds):
                if not no_wait:
                    self.stalled = True
                raise self._refuse(f"another server process has held it for over {self.wait_seconds:g} s")
        except BaseException:
            self._gate.release()
            raise
        self._local.turn = (db, mutex)
        try:
            if no_wait:
                db.execute("PRAGMA busy_timeout = 0")
            try:
                yield
                self._writing = db.in_transaction
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if not no_wait:
                    self.stalled = True
                raise self._refuse(f"held by another process for over {self.wait_seconds:g} s") from exc
            finally:
                if no_wait:
                    db.execute(f"PRAGMA busy_timeout = {int(self.wait_seconds * 1000)}")
            self.stalled = False
        finally:
            self.end(db)

    def end(self, db: sqlite3.Connection, *, closed: bool = False) -> None:
        """After a statement, a commit, a rollback or a close of `db`: once it is not in a
        transaction, this thread's turn (if `db` has it) is over and the next writer's begins."""
        turn = getattr(self._local, "turn", None)
        if turn is None or turn[0] is not db or (not closed and db.in_transaction):
            return
        self._local.turn = None
        self._writing = False
        mutex = turn[1]
        try:
            mutex.release()
        finally:
            self._gate.release()

    @contextmanager
    def no_waiting(self) -> Iterator[None]:
        previous = getattr(self._local, "no_wait", False)
        self._local.no_wait = True
        try:
            yield
        finally:
            self._local.no_wait = previous


gate = WriteGate()


@contextmanager
def write_without_waiting() -> Iterator[None]:
    """For a write that may be skipped: yields, and swallows WriteLockBusy if the lock was not free
    at once (SQLite server processes only; elsewhere the write runs as usual)."""
    if not gate.enabled or connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    try:
        with gate.no_waiting():
            yield
    except WriteLockBusy:
        pass
