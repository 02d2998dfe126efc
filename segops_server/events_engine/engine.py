"""The configured events engine: SEGOPS_EVENTS_ENGINE, and its ClickHouse transport if any.

A process opens ClickHouse once (chdb allows one session per process, and a server client keeps
its connection pool) and makes sure the schema exists the first time; callers ask here rather
than opening their own.
"""

from __future__ import annotations

import threading

from django.conf import settings

from segops_server.events_engine.schema import schema_ensure
from segops_server.events_engine.transport import Transport, transport_open

_lock = threading.Lock()
_open: dict[str, Transport] = {}


def clickhouse_enabled() -> bool:
    """Whether rules read events from ClickHouse (else from the transactional database)."""
    return bool(settings.SEGOPS_EVENTS_ENGINE == "clickhouse")


def clickhouse_transport(url: str | None = None) -> Transport:
    """The process's transport to `url` (default: SEGOPS_CLICKHOUSE_URL), its schema ensured."""
    url = url or str(settings.SEGOPS_CLICKHOUSE_URL)
    with _lock:
        transport = _open.get(url)
        if transport is None:
            transport = transport_open(url)
            schema_ensure(transport)
            _open[url] = transport
        return transport
