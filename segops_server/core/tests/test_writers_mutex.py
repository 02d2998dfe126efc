"""The writers' mutex (core/sqlite/mutex.py): server processes take turns to write, the next one
woken as soon as the holder lets go; a wait is bounded, and a wait given up leaves no lock behind."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from segops_server.core.outage import WriteLockBusy
from segops_server.core.sqlite.mutex import WritersMutex
from segops_server.core.writelock import gate

FORK = multiprocessing.get_context("fork")


def _hold(path: str, seconds: float, pipe: Connection) -> None:
    """Another process: takes the lock file, says so, holds it `seconds`, says when it let go."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    pipe.send("held")
    time.sleep(seconds)
    released = time.time()
    fcntl.flock(fd, fcntl.LOCK_UN)
    pipe.send(released)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[WritersMutex, Connection]]:
    """A mutex of this process, its file held 0.4 s by another."""
    mutex = WritersMutex(str(tmp_path / "db.sqlite3.writers"))
    ours, theirs = FORK.Pipe()
    process = FORK.Process(target=_hold, args=(mutex.path, 0.4, theirs))
    process.start()
    assert ours.recv() == "held"
    yield mutex, ours
    process.join(5)


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    """Databases of the tests' own (not the suite's), opened through SegOps' backend."""
    with django_db_blocker.unblock():
        yield


def _free_elsewhere(path: str) -> bool:
    """Whether a process that does not share our open file can take the lock now."""
    with FORK.Pool(1) as pool:
        return bool(pool.apply(_try_lock, (path,)))


def _try_lock(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def test_it_is_handed_over_as_soon_as_the_other_process_lets_go(
    holder: tuple[WritersMutex, Connection],
) -> None:
    mutex, pipe = holder
    assert not mutex.acquire(0)  # held elsewhere: not free now
    assert mutex.acquire(5)
    acquired = time.time()
    released = pipe.recv()
    assert 0 <= acquired - released < 0.05  # SQLite's busy handler would sleep up to 100 ms
    mutex.release()


def test_a_wait_is_bounded_and_a_wait_given_up_leaves_no_lock_behind(
    holder: tuple[WritersMutex, Connection],
) -> None:
    mutex, pipe = holder
    started = time.monotonic()
    assert not mutex.acquire(0.1)
    assert 0.1 <= time.monotonic() - started < 0.3
    pipe.recv()  # the other process let go: our abandoned wait took the lock and let it go
    time.sleep(0.05)
    assert _free_elsewhere(mutex.path)
    assert mutex.acquire(0)  # and a later writer of ours takes it at once
    assert not _free_elsewhere(mutex.path)
    mutex.release()


def test_a_later_writer_takes_over_a_wait_under_way(holder: tuple[WritersMutex, Connection]) -> None:
    mutex, pipe = holder
    assert not mutex.acquire(0.1)
    assert mutex.acquire(5)  # the wait given up is still under way: this writer gets its lock
    pipe.recv()
    assert not _free_elsewhere(mutex.path)
    mutex.release()
    assert _free_elsewhere(mutex.path)


ROWS_PER_THREAD = 40


def _server_process(path: str, pipe: Connection) -> None:
    """A server process (its write gate on) whose two threads write rows, one transaction each."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "segops_server.core.sqlite",
                "NAME": path,
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            }
        }
    )
    gate.enable(5)
    failures: list[str] = []
    waits: list[float] = []

    def write(thread: int) -> None:
        try:
            for n in range(ROWS_PER_THREAD):
                started = time.monotonic()
                with handler["default"].cursor() as cursor:
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.execute(
                        "INSERT INTO t (pid, thread, n) VALUES (%s, %s, %s)", [os.getpid(), thread, n]
                    )
                    time.sleep(0.002)  # the rest of a request's transaction
                    cursor.execute("COMMIT")
                waits.append(time.monotonic() - started)
        except Exception as exc:  # reported to the test, which fails on it
            failures.append(repr(exc))
        finally:
            handler.close_all()

    threads = [threading.Thread(target=write, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pipe.send((failures, sorted(waits)))


def test_two_server_processes_writing_at_once_lose_nothing_and_take_prompt_turns(
    tmp_path: Path, unblocked: None
) -> None:
    path = str(tmp_path / "shared.sqlite3")
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (pid INTEGER, thread INTEGER, n INTEGER)")
    setup.commit()
    setup.close()
    pipes, processes = [], []
    for _ in range(2):
        ours, theirs = FORK.Pipe()
        process = FORK.Process(target=_server_process, args=(path, theirs))
        process.start()
        pipes.append(ours)
        processes.append(process)
    results = [pipe.recv() for pipe in pipes]
    for process in processes:
        process.join(10)
    assert [failures for failures, _ in results] == [[], []]
    with sqlite3.connect(path) as check:
        rows = check.execute(
            "SELECT count(*), count(DISTINCT pid || '-' || thread || '-' || n) FROM t"
        ).fetchone()
    assert rows == (4 * ROWS_PER_THREAD, 4 * ROWS_PER_THREAD)
    waits = [w for _, process_waits in results for w in process_waits]
    # Each write waits for the others' short transactions in turn: nowhere near the wait bound
    # (5 s) even on a loaded machine, and neither process is starved of its turns.
    assert max(waits) < 2
    assert [len(process_waits) for _, process_waits in results] == [2 * ROWS_PER_THREAD] * 2


def test_a_refused_write_keeps_no_turn(holder: tuple[WritersMutex, Connection], unblocked: None) -> None:
    """A writer whose wait for the mutex ran out is refused and leaves the gate to the next."""
    mutex, pipe = holder
    database = mutex.path.removesuffix(".writers")
    sqlite3.connect(database).close()
    handler = ConnectionHandler(
        {"default": {"ENGINE": "segops_server.core.sqlite", "NAME": database, "OPTIONS": {"timeout": 20}}}
    )
    gate.enable(0.1)
    try:
        with pytest.raises(WriteLockBusy), handler["default"].cursor() as cursor:
            cursor.execute("BEGIN IMMEDIATE")
        assert gate.stalled
        pipe.recv()
        with handler["default"].cursor() as cursor:  # let go: the next write goes through
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("COMMIT")
        assert not gate.stalled
    finally:
        gate.disable()
        handler.close_all()
