"""The ClickHouse dialect on chosen histories: exact numbers from payloads, windows, tenants,
parameters, and a clear refusal of what it does not compile yet."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.segments.rules import clickhouse
from segops_server.segments.rules.clickhouse import EngineUnsupported, clickhouse_definition_compile
from segops_server.testing.chdb import chdb_fresh, needs_chdb

NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
TENANT, OTHER = 21, 22


def _store(transport: Transport, rows: list[tuple[int, str, str, float, dict[str, Any]]]) -> None:
    """rows: (tenant, user, event type, days ago, payload)."""
    transport.insert(
        EVENTS_TABLE,
        [
            [i, tenant, kind, user, NOW - timedelta(days=ago), NOW, None, json.dumps(payload)]
            for i, (tenant, user, kind, ago, payload) in enumerate(rows, start=1)
        ],
        EVENT_COLUMNS,
    )


def _members(transport: Transport, *conditions: dict[str, Any], segments: Any = None) -> set[str]:
    text, params = clickhouse_definition_compile(
        {"logic": "AND", "conditions": list(conditions)},
        tenant_id=TENANT,
        now=NOW,
        lookup_definition=(segments or {}).get,
    )
    return {row[0] for row in transport.query(text, params)}


def _spent(op: str, value: Any, metric: str = "sum", window: int | None = None) -> dict[str, Any]:
    return {
        "type": "monetary",
        "event_type": "order_placed",
        "property": "amount",
        "metric": metric,
        "operator": op,
        "value": value,
        "window_days": window,
    }


@pytest.fixture
def history() -> Transport:
    transport = chdb_fresh()
    _store(
        transport,
        [
            (TENANT, "alice", "order_placed", 1, {"amount": 0.1}),
            (TENANT, "alice", "order_placed", 2, {"amount": 0.2}),
            (TENANT, "bob", "order_placed", 3, {"amount": "7"}),
            (TENANT, "bob", "order_placed", 40, {"amount": "1e3"}),  # not a plain decimal: no number
            (TENANT, "carol", "order_placed", 50, {"amount": True}),  # a boolean is no number
            (TENANT, "dave", "page_viewed", 1, {}),
            (OTHER, "erin", "order_placed", 1, {"amount": 1000}),
        ],
    )
    return transport


@needs_chdb
def test_it_sums_payload_numbers_exactly(history: Transport) -> None:
    assert _members(history, _spent("eq", 0.3)) == {"alice"}  # 0.1 + 0.2, exactly
    assert _members(history, _spent("eq", 7)) == {"bob"}  # "7" counts, "1e3" does not
    assert _members(history, _spent("lt", 1)) == {"alice", "carol", "dave"}  # no orders: a sum of 0
    assert _members(history, _spent("gt", 0, metric="max")) == {"alice", "bob"}


@needs_chdb
def test_it_counts_inside_windows_and_reads_recency(history: Transport) -> None:
    count = {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}
    assert _members(history, count) == {"alice", "bob"}
    assert _members(history, {**count, "window_days": 10}) == {"alice"}
    recent = {"type": "recency", "event_type": "order_placed", "operator": "lte", "window_days": 2}
    assert _members(history, recent) == {"alice"}


@needs_chdb
def test_it_reads_one_tenant_only(history: Transport) -> None:
    assert "erin" not in _members(history, _spent("gte", 0))


@needs_chdb
def test_it_inlines_referenced_segments(history: Transport) -> None:
    buyers = {"logic": "AND", "conditions": [_spent("gt", 0)]}
    outside = {"type": "segment_membership", "segment_id": 5, "operator": "not_in"}
    assert _members(history, outside, segments={5: buyers}) == {"carol", "dave"}


@needs_chdb
def test_it_keeps_definition_values_out_of_the_text(history: Transport) -> None:
    hostile = "never_done_anywhere"  # the DSL admits snake_case only; it still travels apart
    never = {"type": "event_count", "event_type": hostile, "operator": "eq", "value": 0}
    text, params = clickhouse_definition_compile(
        {"logic": "AND", "conditions": [_spent("gte", 0), never]},
        tenant_id=TENANT,
        now=NOW,
        lookup_definition={}.get,
    )
    for value in (hostile, "order_placed", "amount"):
        assert value not in text
        assert value in params.values()
    assert {row[0] for row in history.query(text, params)} == {"alice", "bob", "carol", "dave"}


def test_it_refuses_condition_types_it_does_not_compile_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every registered type compiles today; a new one is refused until its SQL is written.
    monkeypatch.setattr(clickhouse, "SUPPORTED_TYPES", clickhouse.SUPPORTED_TYPES - {"user_property"})
    trait = {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}
    with pytest.raises(EngineUnsupported, match="user_property"):
        clickhouse_definition_compile(
            {"logic": "AND", "conditions": [trait]}, tenant_id=TENANT, now=NOW, lookup_definition={}.get
        )


def _latest(op: str, value: Any = None, prop: str = "plan") -> dict[str, Any]:
    condition = {"type": "event_property", "event_type": "plan_changed", "property": prop, "operator": op}
    return condition if value is None else {**condition, "value": value}


@pytest.fixture
def plans() -> Transport:
    transport = chdb_fresh()
    _store(
        transport,
        [
            (TENANT, "alice", "plan_changed", 5, {"plan": "basic", "seats": 3}),
            (TENANT, "alice", "plan_changed", 1, {"plan": "pro", "seats": "12.50"}),  # the latest
            (TENANT, "bob", "plan_changed", 2, {"plan": {"tier": "team"}, "seats": "1e3"}),
            (TENANT, "carol", "plan_changed", 2, {"plan": True, "seats": 0.1}),
            (TENANT, "dave", "plan_changed", 2, {"plan": None, "seats": [1]}),
            (TENANT, "erin", "page_viewed", 1, {"plan": "pro"}),  # not the event type read
            (OTHER, "frank", "plan_changed", 1, {"plan": "pro"}),
        ],
    )
    return transport


@needs_chdb
def test_it_reads_the_latest_payload_property(plans: Transport) -> None:
    assert _members(plans, _latest("eq", "pro")) == {"alice"}  # the latest, not the earlier "basic"
    assert _members(plans, _latest("neq", "pro")) == {"bob", "carol", "dave", "erin"}  # NOT eq, missing too
    assert _members(plans, _latest("in", ["basic", True])) == {"carol"}
    assert _members(plans, _latest("is_true")) == {"carol"}
    assert _members(plans, _latest("is_false")) == set()
    # An object is set (ClickHouse keeps its leaves), JSON null is not.
    assert _members(plans, _latest("is_set")) == {"alice", "bob", "carol"}


@needs_chdb
def test_it_reads_payload_numbers_and_text_as_the_databases_do(plans: Transport) -> None:
    assert _members(plans, _latest("eq", 12.5, prop="seats")) == {"alice"}  # "12.50" is a plain decimal
    assert _members(plans, _latest("lt", 1, prop="seats")) == {"carol"}  # "1e3" and [1] are no numbers
    assert _members(plans, _latest("between", [0.1, 0.1], prop="seats")) == {"carol"}  # exactly 0.1
    assert _members(plans, _latest("eq", "12.50", prop="seats")) == {"alice"}  # strings equal strings
    assert _members(plans, _latest("starts_with", "p")) == {"alice"}
    assert _members(plans, _latest("ends_with", "ro")) == {"alice"}
    assert _members(plans, _latest("contains", "")) == {"alice"}  # text operators: strings only
    assert _members(plans, _latest("matches_regex", "^pr?o$")) == {"alice"}
    assert _members(plans, _latest("does_not_contain", "x")) == {"alice", "bob", "carol", "dave", "erin"}


@needs_chdb
def test_it_matches_sequences_in_order_within_the_window() -> None:
    transport = chdb_fresh()
    _store(
        transport,
        [
            (TENANT, "alice", "signup", 10, {}),
            (TENANT, "alice", "page_viewed", 9, {}),
            (TENANT, "alice", "order_placed", 8, {}),  # 2 days after signup, with a view between
            (TENANT, "bob", "order_placed", 9, {}),
            (TENANT, "bob", "signup", 8, {}),  # the wrong order
            (TENANT, "carol", "signup", 3, {}),
            (TENANT, "carol", "order_placed", 2, {}),  # 1 day after, nothing between
            (OTHER, "dave", "signup", 3, {}),
            (OTHER, "dave", "order_placed", 2, {}),
        ],
    )
    sequence = {"type": "event_sequence", "events": ["signup", "order_placed"]}
    assert _members(transport, sequence) == {"alice", "carol"}
    assert _members(transport, {**sequence, "window_days": 1}) == {"carol"}  # exactly 1 day is within
    assert _members(transport, {**sequence, "window_days": 0}) == set()
    assert _members(transport, {**sequence, "strict": True}) == {"carol"}
    twice = {"type": "event_sequence", "events": ["signup", "signup"]}
    assert _members(transport, twice) == set()  # one event never follows itself


def _read_columns(transport: Transport, definition: dict[str, Any]) -> set[str]:
    """The columns ClickHouse reads from the events table for the compiled rule (its plan)."""
    text, params = clickhouse_definition_compile(
        definition, tenant_id=TENANT, now=NOW, lookup_definition={}.get
    )
    plan = transport.query(f"EXPLAIN actions = 1 {text}", params)
    lines = [str(row[0]).strip(" │└─") for row in plan]  # without the tree's drawing
    columns: set[str] = set()
    for index, line in enumerate(lines):
        if line.startswith("ReadFromMergeTree"):
            output = next(n for n in lines[index + 1 :] if n.startswith("Output:"))
            columns.update(name.strip() for name in output.removeprefix("Output:").split(","))
    return columns


@needs_chdb
def test_it_reads_only_the_payload_keys_a_rule_names(history: Transport) -> None:
    # Not the whole JSON column (every key of every event): the path's own subcolumn.
    read = _read_columns(history, {"logic": "AND", "conditions": [_spent("gte", 1)]})
    assert "payload.amount" in read
    assert "payload" not in read


@needs_chdb
def test_it_reads_keys_with_dashes_and_digits() -> None:
    transport = chdb_fresh()
    _store(
        transport,
        [
            (TENANT, "alice", "order_placed", 1, {"order-total": "12.50", "2nd": "x"}),
            (TENANT, "bob", "order_placed", 1, {"order-total": 3, "2nd": "y"}),
        ],
    )
    spent = {**_spent("gte", 10), "property": "order-total"}
    assert _members(transport, spent) == {"alice"}
    second = {"type": "event_property", "event_type": "order_placed", "property": "2nd", "operator": "eq"}
    assert _members(transport, {**second, "value": "y"}) == {"bob"}


@needs_chdb
def test_amounts_in_cents_read_as_their_shortest_text() -> None:
    # number_of reads two-place amounts by arithmetic, not through their text: the same value
    # for cents up to 1e13 and far past it, for three places, and for doubles a step away from cents.
    transport = chdb_fresh()
    amounts = (
        "arrayJoin([toFloat64(r) / 100, toFloat64(r) / 1000, (toFloat64(r) / 100) * (1 + 2e-16),"
        " -toFloat64(r) / 100, toFloat64(r * 50) / 100, 9999999999999.99, 10000000000000.01, -0., 1e-7,"
        " 0.005, 1.005])"
    )
    transport.command(
        f"INSERT INTO {EVENTS_TABLE} (id, tenant_id, event_type, user_id, occurred_at, received_at, payload) "
        f"SELECT number, {TENANT}, 'order_placed', 'u', now64(6), now64(6), "
        f"concat('{{\"amount\":', toString(x), '}}') "
        f"FROM (SELECT number, {amounts} AS x FROM (SELECT number, intHash64(number) % 2000000000000000 AS r "
        "FROM numbers(30000)))"
    )
    compiler = clickhouse.ClickHouseCompiler(tenant_id=TENANT, now=NOW, lookup={}.get)
    number = compiler.number_of("payload", "amount")
    params = {p.name: p.value for p in number.params}
    rows = transport.query(
        f"SELECT count(), countIf(isNull({number.text})), "
        f"countIf({number.text} != toDecimal128OrNull(toString(payload.amount), 18)) FROM {EVENTS_TABLE}",
        params,
    )
    assert rows == [(330_000, 0, 0)]
