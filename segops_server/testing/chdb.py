"""chDB for tests: one in-process ClickHouse per test process (chdb opens one directory per
process), its events table emptied before each test that asks for it; skipped cleanly where the
`clickhouse` extra is not installed."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

from segops_server.events_engine.engine import clickhouse_transport
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.transport import Transport

CHDB_AVAILABLE = importlib.util.find_spec("chdb") is not None
needs_chdb = pytest.mark.skipif(not CHDB_AVAILABLE, reason="chdb (the clickhouse extra) is not installed")

_url: str | None = None


def chdb_url() -> str:
    """This process's chDB directory as a SEGOPS_CLICKHOUSE_URL (the same for every test)."""
    global _url
    if _url is None:
        base = os.environ.get("SEGOPS_DATA_DIR") or tempfile.mkdtemp(prefix="segops-chdb-")
        _url = "chdb://" + os.path.join(base, "chdb")
    return _url


def chdb_fresh() -> Transport:
    """The process's chDB, with no events: a test starts from an empty table."""
    if not CHDB_AVAILABLE:
        pytest.skip("chdb (the clickhouse extra) is not installed")
    transport = clickhouse_transport(chdb_url())
    transport.command(f"TRUNCATE TABLE {EVENTS_TABLE}")
    return transport


@contextmanager
def chdb_engine(*, settle_seconds: int | None = 0) -> Iterator[Transport]:
    """The ClickHouse events engine switched on over this process's chDB, emptied; events ship at
    once (`settle_seconds` 0) unless told otherwise (None: the setting's own value)."""
    transport = chdb_fresh()
    settle = {} if settle_seconds is None else {"SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS": settle_seconds}
    with override_settings(SEGOPS_EVENTS_ENGINE="clickhouse", SEGOPS_CLICKHOUSE_URL=chdb_url(), **settle):
        yield transport
