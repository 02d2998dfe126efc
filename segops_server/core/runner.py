"""The task worker process (`segops worker`): django-tasks' database worker, kept alive through
database outages, beating its heartbeat, and gone within seconds of the server that started it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from segops_server.core.workers import heartbeat_record, heartbeat_remove, leases_renew, worker_id

logger = logging.getLogger("segops.worker")

# Errors that mean "the database is away for now" (PostgreSQL restarting, a connection the server
# closed, SQLite's write lock held past the busy timeout), not "this work is wrong".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
PARENT_POLL_SECONDS = 0.5


class Outage:
    """One log line when the database goes away and one when it is back, however many tries."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._since: float | None = None
        self._tries = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        self._tries += 1
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning(
                "%s: database unavailable (%s: %s); retrying", self._what, type(exc).__name__, exc
            )

    def recovered(self) -> None:
        if self._since is not None:
            self._log.warning(
                "%s: database available again after %.1f s (%d tries)",
                self._what,
                time.monotonic() - self._since,
                self._tries,
            )
        self._since = None
        self._tries = 0


def rounds_loop(
    round_: Callable[[], int],
    *,
    what: str,
    failure: str,
    log: logging.Logger,
    idle: float,
    stop: threading.Event,
) -> None:
    """A worker thread's loop: `round_` over and over until `stop`, back to back while it had work
    (returned more than 0), waiting `idle` seconds when it had none. A database outage is one log
    line and a retry (`what`: who says it), any other failure is logged (`failure`) and retried:
    it never stops the worker."""
    outage = Outage(log, what)
    while not stop.is_set():
        done = 0
        try:
            done = round_()
            outage.recovered()
        except TRANSIENT_ERRORS as exc:  # the database is away: one line, then retried
            outage.failed(exc)
        except Exception:  # a failed round is logged and retried, never fatal
            log.exception(failure)
        finally:
            close_old_connections()
        if not done:
            stop.wait(idle)


def backoff_delays(
    first: float = BACKOFF_FIRST_SECONDS, cap: float = BACKOFF_MAX_SECONDS
) -> Callable[[], float]:
    """Doubling delays up to `cap`: call it for the next one."""
    state = {"next": first}

    def next_delay() -> float:
        delay = state["next"]
        state["next"] = min(cap, delay * 2)
        return delay

    return next_delay


def _close_connections() -> None:
    try:
        connections.close_all()
    except Exception:  # a connection that is already broken may fail to close: it is gone either way
        logger.debug("Closing a broken connection failed", exc_info=True)


def _database_reachable() -> bool:
    """The database takes writes again. In a transaction, because on SQLite (IMMEDIATE mode) that
    waits for the write lock: reads work while another process holds it, and the worker writes."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except TRANSIENT_ERRORS:
        _close_connections()
        return False
    return True


def run_resilient(
    work: Callable[[], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    reachable: Callable[[], bool] = _database_reachable,
    running: Callable[[], bool] = lambda: True,
    recovered: Callable[[], None] = lambda: None,
) -> None:
    """Run `work` until it returns; when it fails on a transient database error, wait (with
    backoff) until the database answers again, call `recovered`, and run it again, instead of
    exiting."""
    outage = Outage(logger, "Task worker")
    while running():
        try:
            work()
            return
        except TRANSIENT_ERRORS as exc:
            outage.failed(exc)
        _close_connections()
        delay = backoff_delays()
        while running() and not reachable():
            outage.failed(OperationalError("still unreachable"))
            sleep(delay())
        outage.recovered()
        if running():
            recovered()


class TaskWorker(Worker):
    """django-tasks' database worker, remembering the task it runs: when an outage interrupts it
    (the task row stays "running", and this worker is alive), the row is put back in the queue."""

    current: DBTaskResult[..., Any] | None = None

    def run_task(self, db_task_result: DBTaskResult[..., Any]) -> None:
        self.current = db_task_result
        super().run_task(db_task_result)
        self.current = None  # not reached when the database failed under it

    def requeue_interrupted(self) -> None:
        if self.current is None:
            return
        DBTaskResult.objects.filter(pk=self.current.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )
        logger.warning("Task %s was interrupted by the outage; queued again", self.current.pk)
        self.current = None


def _heartbeat_loop(worker: str, interval: float, stop: threading.Event) -> None:
    """Record this worker's heartbeat and renew its leases every `interval` seconds."""
    started_at = timezone.now()
    outage = Outage(logger, "Worker heartbeat")
    while not stop.is_set():
        try:
            heartbeat_record(worker=worker, started_at=started_at)
            leases_renew()
            outage.recovered()
        except TRANSIENT_ERRORS as exc:
            outage.failed(exc)
            _close_connections()
        except Exception:  # a heartbeat that fails for another reason must not stop the next one
            logger.exception("Worker heartbeat failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def parent_alive(parent: int) -> bool:
    return os.getppid() == parent


def _parent_watch(parent: int) -> None:
    """Exit as soon as the server that started this worker is gone. A lease this worker held
    expires and another worker takes the work over, so leaving mid-task loses nothing."""
    while parent_alive(parent):
        time.sleep(PARENT_POLL_SECONDS)
    logger.warning("Task worker: its server (pid %s) is gone; exiting", parent)
    _forget(worker_id())
    os._exit(0)


def worker_main(
    *,
    parent: int | None,
    heartbeat_seconds: float,
    scheduler: Callable[[], None],
    sender: Callable[[], None] | None = None,
    live: Callable[[], None] | None = None,
) -> int:
    """The worker process: check the parent, start the watch, heartbeat, scheduler, (webhook)
    sender and real-time evaluator threads, then work the queue until a signal stops it."""
    if parent is not None:
        if not parent_alive(parent):  # started by a server that was already gone
            logger.warning("Task worker: its server (pid %s) is gone; not starting", parent)
            return 0
        threading.Thread(target=_parent_watch, args=(parent,), daemon=True, name="parent-watch").start()
    me = worker_id()
    stop = threading.Event()
    threading.Thread(
        target=_heartbeat_loop, args=(me, heartbeat_seconds, stop), daemon=True, name="heartbeat"
    ).start()
    threading.Thread(target=scheduler, daemon=True, name="scheduler").start()
    if sender is not None:
        threading.Thread(target=sender, daemon=True, name="sender").start()
    if live is not None:
        threading.Thread(target=live, daemon=True, name="live").start()
    worker = TaskWorker(
        queue_names=["default"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=me,
        excluded_queue_names=[],
    )
    worker.configure_signals()
    logging.getLogger("django_tasks_db").setLevel(logging.INFO)
    try:
        run_resilient(worker.run, running=lambda: worker.running, recovered=worker.requeue_interrupted)
    except SystemExit as exit_:  # the worker's signal handler: stop beating, say so, then exit
        stop.set()
        _forget(me)
        return int(exit_.code or 0)
    stop.set()
    _forget(me)
    return 0


def _forget(worker: str) -> None:
    try:
        heartbeat_remove(worker=worker)
    except Exception:  # the row ages out by itself when the database is away
        logger.debug("Removing the heartbeat row failed", exc_info=True)
