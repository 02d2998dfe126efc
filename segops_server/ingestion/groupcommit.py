"""Group commit: the single events a server process is storing at the same moment share one commit.

Each single-event request used to be its own transaction, and its commit (a flush of the
write-ahead log to disk, on either database) cost more than the rest of its work: on SQLite,
whose writers take one lock in turn, the requests queued on that lock. Here the first request
to arrive opens a group and leads it: it waits at most SEGOPS_GROUP_COMMIT_MS for the others
this process is serving (never when it serves no other request), up to SEGOPS_GROUP_COMMIT_MAX
of them, then writes every request's rows in one transaction and commits once. The rows are
those of the same requests written one after another: each request's rows are those it writes
alone (message ids are claimed in turn: a repeat inside a group is stored once). On PostgreSQL
the requests with only events and profile deltas share one statement (ingestion/services.py),
which is then the whole transaction: one round trip and one commit for the group. Each request is
answered only after that commit: a 202 still means stored.

If the group's transaction fails, nothing of it is stored (it was one transaction) and its
requests are told so. A failure of the database itself (gone, restarting, locked) fails them
all with GroupCommitFailed, answered 503 with Retry-After as an outage (core/outage.py); any
other failure (one request's rows refused, a deadlock) is the business of one request, so each
is then written again alone, as it would have been without grouping, and succeeds or fails by
itself. A group of one is written exactly as without grouping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from segops_server.core.outage import GroupCommitFailed, is_database_unavailable
from segops_server.ingestion.validation import ValidEvent
from segops_server.observability.metrics import GROUP_COMMITS, GROUPED_REQUESTS

logger = logging.getLogger("segops.ingestion")


@dataclass(eq=False)
class Entry:
    """One request's events waiting for their group's commit, and what came of them."""

    tenant_id: int
    events: Sequence[ValidEvent]
    received_at: datetime
    live: bool  # the tenant keeps a segment live: its users are queued for evaluation
    done: threading.Event | None = None  # a grouped request's: set once its group is decided
    stored: int | None = None  # set once its events are committed
    error: BaseException | None = None


Commit = Callable[[Sequence[Entry]], list[int]]  # the entries in one transaction: stored per entry
Alone = Callable[[Entry], int]  # one entry as without grouping: stored


def grouping() -> bool:
    """Whether a single event is grouped: on, and not inside a caller's own transaction (whose
    commit is the caller's)."""
    return settings.SEGOPS_GROUP_COMMIT_MS > 0 and not connection.in_atomic_block


def _lock_order(entry: Entry) -> tuple[int, str]:
    # Every group takes its rows' locks (message ids, the real-time queue) in the same order, so
    # two groups of two processes do not wait on each other in a cycle.
    return entry.tenant_id, min(e.user_id for e in entry.events)


class GroupCommitter:
    """The process's groups: at most one collecting at a time; several may be committing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self._open: list[Entry] | None = None
        self._serving = 0  # requests this process is serving now (wsgi.py counts them)
        self.commits = 0  # transactions committed for groups (a group of one included)
        self.requests = 0  # requests whose events those commits stored

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Around each request the process serves: a leader waits for others only when there are."""
        with self._lock:
            self._serving += 1
        try:
            yield
        finally:
            with self._lock:
                self._serving -= 1
                self._joined.notify_all()  # a leader waiting for this request need not wait longer

    def _target(self) -> int:
        return max(1, min(settings.SEGOPS_GROUP_COMMIT_MAX, self._serving))

    def store(self, entry: Entry, *, commit: Commit, alone: Alone) -> int:
        """Store `entry` with the group it joins (or leads); returns how many events were new."""
        done = entry.done = threading.Event()
        with self._lock:
            group = self._open
            leader = group is None
            if group is None:
                group = self._open = [entry]
                deadline = time.monotonic() + settings.SEGOPS_GROUP_COMMIT_MS / 1000
                while self._open is group and len(group) < self._target():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._joined.wait(remaining)
            else:
                group.append(entry)
                if len(group) >= self._target():
                    self._joined.notify_all()
            if self._open is group and (leader or len(group) >= self._target()):
                self._open = None  # closed: the next request opens another group
        if leader:
            self._write(group, commit, alone)
        else:
            done.wait()
        if entry.error is not None:
            raise entry.error
        if entry.stored is None:
            raise AssertionError("answered without a commit")  # _write decides every entry
        return entry.stored

    def _write(self, group: list[Entry], commit: Commit, alone: Alone) -> None:
        try:
            if len(group) == 1:
                self._alone(group, alone)
                return
            group.sort(key=_lock_order)
            try:
                stored = commit(group)
            except Exception as exc:
                if is_database_unavailable(exc):
                    _fail(group, exc)
                    return
                logger.warning(
                    "A group of %d events failed (%s); each is stored alone.", len(group), type(exc).__name__
                )
                self._alone(group, alone)
                return
            for entry, count in zip(group, stored, strict=True):
                entry.stored = count
            self._count(len(group))
        finally:
            # Whatever stopped the leader (even an exception that is not an Exception), no
            # request of its group is answered as stored unless it was.
            undecided = [entry for entry in group if entry.stored is None and entry.error is None]
            _fail(undecided, RuntimeError("the group's writer stopped"))
            for entry in group:
                if entry.done is not None:
                    entry.done.set()

    def _alone(self, entries: Iterable[Entry], alone: Alone) -> None:
        for entry in entries:
            try:
                entry.stored = alone(entry)
            except Exception as exc:  # that request's own failure, answered as without grouping
                entry.error = exc
            else:
                self._count(1)

    def _count(self, requests: int) -> None:
        with self._lock:
            self.commits += 1
            self.requests += requests
        GROUP_COMMITS.inc()
        GROUPED_REQUESTS.inc(requests)


def _fail(group: Sequence[Entry], exc: BaseException) -> None:
    """Every request of `group` is refused: nothing of theirs was stored (one transaction)."""
    for entry in group:
        entry.error = GroupCommitFailed(
            f"A commit of {len(group)} requests' events failed: {type(exc).__name__}"
        )
        entry.error.__cause__ = exc


committer = GroupCommitter()


def serving_counted(app: Any) -> Any:
    """WSGI: counts the requests this process is serving, for the group's leader (see above)."""

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with committer.serving():
            return app(environ, start_response)

    return counted
