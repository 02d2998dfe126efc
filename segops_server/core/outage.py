"""Database outages and a busy SQLite write lock: a 503 with Retry-After, and one log line per outage.

A restart of PostgreSQL, a lost connection or a SQLite write lock held by another process are
not bugs of the request that meets them: the client should simply retry a little later. Every
interface (DRF views through core/errors.py, plain Django views and the console through
handler500, the short way of core/fastpath.py, which ends in handler500 too) answers them with
the same 503 and `Retry-After`, and logs them here, at most once a minute per process, so an
outage is one line in the log, not one traceback per request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger("segops.database")

RETRY_AFTER_SECONDS = 2
LOG_EVERY_SECONDS = 60.0
UNAVAILABLE = "The database is unavailable right now; retry shortly."
BUSY = "The database is busy with another write; retry shortly."
NOT_STORED = "The database failed while storing these events; nothing was stored; retry shortly."

# PostgreSQL SQLSTATEs that mean "this connection or server is going away or not there yet":
# class 08 (connection exception), admin/crash shutdown, cannot connect now, too many connections.
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_BUSY = ("database is locked", "database table is locked")
_SQLITE_UNAVAILABLE = ("unable to open database file", "disk i/o error")


class WriteLockBusy(OperationalError):
    """SQLite's write lock was not free within SEGOPS_SQLITE_WRITE_WAIT_SECONDS (core/sqlite)."""


class GroupCommitFailed(OperationalError):
    """The database failed the commit a request's events shared with others (ingestion/groupcommit.py):
    nothing of them was stored, and a retry stores them (once, with a message_id)."""


def is_database_unavailable(exc: BaseException) -> bool:
    """True for a failure of the database itself (gone, restarting, locked), not of the query."""
    if isinstance(exc, InterfaceError):
        return True  # "connection already closed": the server went away under a kept connection
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc, WriteLockBusy | GroupCommitFailed):
        return True
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("psycopg"):
        sqlstate = getattr(cause, "sqlstate", None)
        # Connection failures (refused, reset, closed mid-query) carry no SQLSTATE at all;
        # a statement timeout (57014) or a bad query does, and is the query's own failure.
        return sqlstate is None or sqlstate.startswith(_PG_UNAVAILABLE)
    message = str(exc).lower()
    return message.startswith(_SQLITE_BUSY + _SQLITE_UNAVAILABLE)


def is_write_lock_busy(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and (
        isinstance(exc, WriteLockBusy) or str(exc).lower().startswith(_SQLITE_BUSY)
    )


def public_detail(exc: BaseException) -> str:
    if isinstance(exc, GroupCommitFailed):
        return NOT_STORED
    return BUSY if is_write_lock_busy(exc) else UNAVAILABLE


class _OncePerOutage:
    """Logs the first failure, then stays quiet for LOG_EVERY_SECONDS (counting what it skipped)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -LOG_EVERY_SECONDS
        self._skipped = 0

    def __call__(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < LOG_EVERY_SECONDS:
                self._skipped += 1
                return
            skipped, self._skipped, self._last = self._skipped, 0, now
        # The driver's message names no secret (no password, no query parameters); one line.
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        logger.warning(
            "Database unavailable, answering 503 with Retry-After (%s; %d more failures since the last "
            "line; next line in %d s at the earliest)",
            reason,
            skipped,
            int(LOG_EVERY_SECONDS),
        )

    def reset(self) -> None:
        with self._lock:
            self._last, self._skipped = -LOG_EVERY_SECONDS, 0


database_unavailable_log = _OncePerOutage()


def database_unavailable_response(exc: BaseException) -> JsonResponse:
    """The 503 for plain Django views (handler500); Django's request logger is told it was logged."""
    database_unavailable_log(exc)
    response = JsonResponse({"detail": public_detail(exc)}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log.log_response
    return response
