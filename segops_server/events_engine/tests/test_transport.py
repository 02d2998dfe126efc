"""The transport and the table: parameters arrive intact, batches deduplicate, payloads keep types."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE, schema_ensure
from segops_server.events_engine.transport import identifiers, param_text, transport_open
from segops_server.testing.chdb import chdb_fresh, needs_chdb

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _event(event_id: int, *, tenant: int = 1, user: str = "alice", payload: str = "{}") -> list[Any]:
    return [event_id, tenant, "order_placed", user, T0, T0, None, payload]


def test_it_formats_parameters_as_clickhouse_text() -> None:
    assert param_text("it's") == "it's"
    assert param_text(["a'b", "c\\d"]) == "['a\\'b','c\\\\d']"
    assert param_text(T0) == "2026-03-01 12:00:00.123456"
    assert param_text([1, 2.5, Decimal("3.10")]) == "[1,2.5,3.10]"
    assert param_text(True) == "1"
    with pytest.raises(TypeError):
        param_text(object())


def test_it_refuses_unknown_urls() -> None:
    with pytest.raises(ValueError, match="scheme"):
        transport_open("ftp://example.org/")
    with pytest.raises(ValueError, match="directory"):
        transport_open("chdb://")


@needs_chdb
@pytest.mark.parametrize(
    "value", ["plain", "it's", "back\\slash", "'); DROP TABLE segops_events; --", "é ü 中"]
)
def test_it_passes_strings_as_parameters_not_text(value: str) -> None:
    transport = chdb_fresh()
    assert transport.query("SELECT {v:String}, {vs:Array(String)}", {"v": value, "vs": [value, "x"]}) == [
        (value, [value, "x"])
    ]
    assert transport.query(f"SELECT count() FROM {EVENTS_TABLE}") == [(0,)]


@needs_chdb
def test_it_creates_the_table_idempotently() -> None:
    transport = chdb_fresh()
    schema_ensure(transport)
    schema_ensure(transport)
    (engine, sorting, partition), *_ = transport.query(
        "SELECT engine, sorting_key, partition_key FROM system.tables WHERE name = {t:String}",
        {"t": EVENTS_TABLE},
    )
    assert engine == "MergeTree"
    assert sorting == "tenant_id, event_type, user_id, occurred_at"
    assert partition == "toYYYYMM(occurred_at)"


@needs_chdb
def test_it_drops_a_batch_shipped_twice_with_the_same_token() -> None:
    transport = chdb_fresh()
    batch = [_event(1), _event(2, user="bob")]
    transport.insert(EVENTS_TABLE, batch, EVENT_COLUMNS, token="events-1-2")
    transport.insert(EVENTS_TABLE, batch, EVENT_COLUMNS, token="events-1-2")
    transport.insert(EVENTS_TABLE, [_event(3)], EVENT_COLUMNS, token="events-3-3")
    assert transport.query(f"SELECT count() FROM {EVENTS_TABLE}") == [(3,)]


@needs_chdb
def test_it_keeps_payload_numbers_and_strings_apart() -> None:
    transport = chdb_fresh()
    transport.insert(
        EVENTS_TABLE,
        [
            _event(1, payload='{"amount": 12.5, "plan": "pro"}'),
            _event(2, payload='{"amount": "7", "plan": 3}'),
        ],
        EVENT_COLUMNS,
    )
    rows = transport.query(
        f"SELECT id, dynamicType(payload.amount), dynamicType(payload.plan), occurred_at FROM {EVENTS_TABLE} "
        "WHERE tenant_id = {t:UInt64} AND occurred_at >= {at:DateTime64(6, 'UTC')} ORDER BY id",
        {"t": 1, "at": T0},
    )
    assert [r[:3] for r in rows] == [(1, "Float64", "String"), (2, "String", "Int64")]
    assert rows[0][3] == T0


def test_it_puts_only_identifiers_in_insert_text() -> None:
    assert identifiers(["segops_events", "id"]) == ["segops_events", "id"]
    with pytest.raises(ValueError, match="identifier"):
        identifiers(["segops_events", "id); DROP TABLE x; --"])


@needs_chdb
def test_chdb_queries_do_not_import_pandas(tmp_path: Any) -> None:
    # chdb's "ArrowTable" format imports pandas (seconds, on a worker's first compute); the
    # transport reads the Arrow file itself. A fresh process, as this one may have pandas already.
    code = (
        "import sys\n"
        "from segops_server.events_engine.transport import ChdbTransport\n"
        f"transport = ChdbTransport({str(tmp_path / 'chdb')!r})\n"
        "assert transport.query('SELECT 1 AS n, {s:String} AS s', {'s': 'x'}) == [(1, 'x')]\n"
        "assert transport.query('SELECT 1 AS n WHERE 0') == []\n"
        "transport.close()\n"
        "print('pandas' in sys.modules)\n"
    )
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
