"""Django's request signals on the short way: the same receivers' work, with less machinery.

Django's handler sends `request_started` and `request_finished` around every request, and so does
the short way (core/fastpath.py): their receivers drop database connections that are broken or
past CONN_MAX_AGE, clear the query log, close caches, reset the URLconf and end the request's
log context. Dispatching them (weak references resolved on each send) and reaching each
connection through Django's context-local registry once per receiver cost a third of what a
delivery answer from a membership snapshot costs.

When the receivers connected are exactly Django's and ours (`_STARTED`, `_FINISHED`, in any
order: checked on every request by the signal's receiver keys, and the functions behind them
looked at again whenever those change), the short way does their work in one pass over the
connections for each signal. Any other receiver (a library's, a test's change) and the signals
are sent as Django sends them, every receiver called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signals
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal

from segops_server.observability.context import request_end


def _started_work() -> None:
    # reset_queries, then close_old_connections: each visits every connection this thread opened.
    for conn in connections.all(initialized_only=True):
        conn.queries_log.clear()
        conn.close_if_unusable_or_obsolete()


def _finished_work() -> None:
    for conn in connections.all(initialized_only=True):  # close_old_connections
        conn.close_if_unusable_or_obsolete()
    close_caches()
    reset_urlconf(sender=None)
    request_end()


class _Sender:
    """Sends `signal` from `sender`: `work` when the receivers are `expected`, else Django's send."""

    def __init__(
        self, signal: Signal, expected: tuple[Callable[..., Any], ...], work: Callable[[], None]
    ) -> None:
        self.signal = signal
        self.expected = expected
        self.work = work
        self._known: tuple[Any, ...] | None = None  # receiver keys last found to be `expected`

    def send(self, sender: type, **named: Any) -> None:
        signal = self.signal
        keys = tuple(entry[0] for entry in signal.receivers)
        if keys != self._known or signal._dead_receivers:  # type: ignore[attr-defined]
            sync, asynchronous = signal._live_receivers(sender)
            # In any order (Django's test client connects close_old_connections again, last):
            # what each does is independent of the others.
            if asynchronous or len(sync) != len(self.expected) or set(sync) != set(self.expected):
                self._known = None
                signal.send(sender=sender, **named)
                return
            self._known = keys
        self.work()


_STARTED = (reset_queries, close_old_connections)
_FINISHED = (close_old_connections, close_caches, reset_urlconf, request_end)

request_started = _Sender(signals.request_started, _STARTED, _started_work)
request_finished = _Sender(signals.request_finished, _FINISHED, _finished_work)
