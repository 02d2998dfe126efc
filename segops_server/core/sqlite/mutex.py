"""The writers' mutex: the server processes of one SQLite database take turns to write through a file lock.

SQLite's own wait for its write lock is a busy handler that *sleeps* (1, 2, 5, 10 ... 100 ms)
and looks again, so a process whose turn has come wakes up to 100 ms late, while the lock may
already be someone else's again: single events queued for hundreds of milliseconds. An
exclusive flock(2) on a file next to the database is handed over by the kernel, which wakes the
next waiter the moment the holder lets go. The write gate (core/writelock.py) takes it before
BEGIN IMMEDIATE and lets go after COMMIT or ROLLBACK, so a server process that has it finds
SQLite's lock free unless a process that does not take it (the task worker, a command) holds it.

The kernel frees the lock when its process dies, so a crashed server stops no one. flock(2) has
no timeout: the blocking wait runs on a thread of its own and the writer waits for it at most
its bound; a wait given up still finishes there, and the lock is then let go at once unless a
later writer of the process is waiting for it.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as WaitTimedOut


class WritersMutex:
    """The lock file of one database, as this process holds it (flock: per open file, so one
    process's threads share it; the write gate lets one thread of the process use it at a time)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mu = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._requests: queue.SimpleQueue[Future[bool]] | None = None  # for the waiting thread
        self._pending: Future[bool] | None = None  # the blocking wait under way, if any
        self._waiters = 0  # writers waiting for that wait's outcome
        self._handed = False  # that wait got the lock for them

    def _opened(self) -> queue.SimpleQueue[Future[bool]]:
        """The file and the waiting thread of this process (a forked child opens its own: a lock
        on an inherited open file would be its parent's too). The thread is a daemon: a process
        that exits while it waits is not held up by another's lock."""
        if self._pid != os.getpid() or self._requests is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._requests = queue.SimpleQueue()
            threading.Thread(
                target=self._serve, args=(self._requests,), name="segops-writers-mutex", daemon=True
            ).start()
            self._pending, self._waiters, self._handed, self._pid = None, 0, False, os.getpid()
        return self._requests

    def _serve(self, requests: queue.SimpleQueue[Future[bool]]) -> None:
        while True:
            future = requests.get()
            try:
                future.set_result(self._wait())
            except BaseException as exc:  # handed to the writer waiting for it
                future.set_exception(exc)

    def acquire(self, timeout: float) -> bool:
        """Take the lock within `timeout` seconds (0: only if free now); False if not."""
        with self._mu:
            requests = self._opened()
            if self._pending is None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if timeout <= 0:
                        return False
                    self._pending = Future()
                    requests.put(self._pending)
            elif timeout <= 0:
                return False
            pending = self._pending
            self._waiters += 1
        try:
            pending.result(timeout)
        except WaitTimedOut:
            pass  # given up: _wait lets the lock go when it gets it, unless a later writer claims it
        finally:
            with self._mu:
                self._waiters -= 1
                handed, self._handed = self._handed, False
                if handed:
                    self._pending = None
        return handed

    def _wait(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            with self._mu:
                self._pending = None
            raise
        with self._mu:
            if self._waiters:
                self._handed = True  # the writer waiting for it has it now
                return True
            self._pending = None
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # its writer gave up: the others' turn
            return False

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


_mutexes: dict[str, WritersMutex] = {}
_mutexes_lock = threading.Lock()


def writers_mutex(database: str) -> WritersMutex:
    """The mutex of the database file `database` (its lock file is `<database>.writers`)."""
    mutex = _mutexes.get(database)
    if mutex is None:
        with _mutexes_lock:
            mutex = _mutexes.setdefault(database, WritersMutex(f"{database}.writers"))
    return mutex
