"""The write gate (core/writelock.py): with SQLite's write lock held by another process, one
thread of a server process waits for it, a bounded time; the others are refused at once; reads
never wait; writes go through again as soon as the lock is free."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from segops_server.core import writelock
from segops_server.core.outage import WriteLockBusy, is_database_unavailable
from segops_server.core.writelock import gate, takes_write_lock, write_without_waiting

WAIT_SECONDS = 2


@pytest.fixture
def database(tmp_path: Path, django_db_blocker: Any) -> Iterator[ConnectionHandler]:
    """A SQLite file of its own (not the suite's test database), through SegOps' backend."""
    path = tmp_path / "gated.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (v INTEGER)")
    setup.commit()
    setup.close()
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "segops_server.core.sqlite",
                "NAME": str(path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            }
        }
    )
    gate.enable(WAIT_SECONDS)
    try:
        with django_db_blocker.unblock():
            yield handler
    finally:
        gate.disable()
        handler.close_all()


@pytest.fixture
def holder(database: ConnectionHandler) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding the write lock."""
    other = sqlite3.connect(database["default"].settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def _write(database: ConnectionHandler) -> float:
    """One transaction that writes, as Django runs it (BEGIN IMMEDIATE first); seconds taken."""
    started = time.monotonic()
    with database["default"].cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO t (v) VALUES (1)")
        cursor.execute("COMMIT")
    return time.monotonic() - started


def _timed_failure(database: ConnectionHandler) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        _write(database)
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


@pytest.mark.parametrize(
    ("query", "writes"),
    [
        ("BEGIN IMMEDIATE", True),
        ("  insert into t values (1)", True),
        ("UPDATE t SET v = 2", True),
        ("DELETE FROM t", True),
        ("SELECT * FROM t", False),
        ("PRAGMA busy_timeout = 0", False),
    ],
)
def test_it_knows_which_statements_take_the_lock(query: str, writes: bool) -> None:
    assert takes_write_lock(query) is writes


def test_it_waits_a_bounded_time_then_refuses_with_a_busy_error(
    database: ConnectionHandler, holder: sqlite3.Connection
) -> None:
    seconds, exc = _timed_failure(database)
    assert isinstance(exc, WriteLockBusy)
    assert is_database_unavailable(exc)
    assert WAIT_SECONDS - 0.2 < seconds < WAIT_SECONDS + 2
    assert gate.stalled


def test_it_lets_one_thread_wait_and_refuses_the_others_once_nothing_moves(
    database: ConnectionHandler, holder: sqlite3.Connection
) -> None:
    results: dict[str, tuple[float, BaseException | None]] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", _timed_failure(database)))
    first.start()
    time.sleep(0.2)  # the first writer is waiting for the lock
    seconds, exc = _timed_failure(database)
    assert isinstance(exc, WriteLockBusy)
    assert writelock.STALL_SECONDS - 0.1 < seconds < writelock.STALL_SECONDS + 0.5  # not WAIT_SECONDS
    assert gate.stalled
    seconds, exc = _timed_failure(database)
    assert isinstance(exc, WriteLockBusy)
    assert seconds < 0.1  # recognised as held: refused at once
    first.join()
    assert isinstance(results["first"][1], WriteLockBusy)


def test_it_queues_writers_while_others_commit(
    database: ConnectionHandler, holder: sqlite3.Connection
) -> None:
    """Heavy but normal contention: the lock changes hands, the WAL grows, nobody is refused."""
    holder.execute("ROLLBACK")
    stop = threading.Event()

    def busy_other_process() -> None:
        other = sqlite3.connect(database["default"].settings_dict["NAME"], isolation_level=None)
        while not stop.is_set():
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO t (v) VALUES (0)")
            time.sleep(0.3)  # each of its transactions holds the lock 0.3 s
            other.execute("COMMIT")
            time.sleep(0.05)  # between its requests
        other.close()

    writer = threading.Thread(target=busy_other_process)
    writer.start()
    try:
        failures = []
        threads = [
            threading.Thread(target=lambda: failures.append(_timed_failure(database)[1])) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        writer.join()
    assert failures == [None, None, None, None]


def test_it_reads_at_once_while_the_lock_is_held(
    database: ConnectionHandler, holder: sqlite3.Connection
) -> None:
    started = time.monotonic()
    with database["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)
    assert time.monotonic() - started < 0.2


def test_it_writes_again_once_the_lock_is_free(
    database: ConnectionHandler, holder: sqlite3.Connection
) -> None:
    assert isinstance(_timed_failure(database)[1], WriteLockBusy)
    holder.execute("ROLLBACK")
    assert _write(database) < 0.5
    assert not gate.stalled


def test_a_write_that_may_be_skipped_never_waits(
    database: ConnectionHandler, holder: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writelock, "connection", database["default"])
    started = time.monotonic()
    with write_without_waiting(), database["default"].cursor() as cursor:
        cursor.execute("UPDATE t SET v = 2")
    assert time.monotonic() - started < 0.2
    assert not gate.stalled  # skipping bookkeeping says nothing about the lock
    holder.execute("ROLLBACK")
    with write_without_waiting(), database["default"].cursor() as cursor:
        cursor.execute("INSERT INTO t (v) VALUES (3)")
    with database["default"].cursor() as cursor:
        cursor.execute("SELECT v FROM t")
        assert cursor.fetchall() == [(3,)]
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone() == (WAIT_SECONDS * 1000,)  # the usual wait is back


def test_it_is_off_outside_server_processes(database: ConnectionHandler, holder: Any) -> None:
    gate.disable()
    assert not gate.enabled
    assert database["default"].get_connection_params()["timeout"] == 20


def test_a_thread_waits_for_its_process_s_running_transaction_past_the_stall_limit(
    database: ConnectionHandler,
) -> None:
    """The gate's holder is running its own transaction (it has the lock): a slow one is not a
    stall, and the next writer of the process goes as soon as it commits."""
    began = threading.Event()

    def slow_transaction() -> None:
        with database["default"].cursor() as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("INSERT INTO t (v) VALUES (1)")
            began.set()
            time.sleep(writelock.STALL_SECONDS + 0.3)
            cursor.execute("COMMIT")
        database["default"].close()

    first = threading.Thread(target=slow_transaction)
    first.start()
    began.wait(5)
    seconds, exc = _timed_failure(database)
    first.join()
    assert exc is None
    assert seconds > writelock.STALL_SECONDS  # it waited for the holder's commit
    assert not gate.stalled


def test_closing_a_connection_in_a_transaction_ends_its_turn(database: ConnectionHandler) -> None:
    def abandoned() -> None:
        with database["default"].cursor() as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("INSERT INTO t (v) VALUES (7)")
        database["default"].close()  # rolled back: the turn is over

    thread = threading.Thread(target=abandoned)
    thread.start()
    thread.join()
    assert _write(database) < 0.5
    with database["default"].cursor() as cursor:
        cursor.execute("SELECT v FROM t")
        assert cursor.fetchall() == [(1,)]
