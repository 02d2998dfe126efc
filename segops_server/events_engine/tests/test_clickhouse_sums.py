"""Monetary sums, averages and maxima on chDB against the reference evaluator, for amounts that
take the ClickHouse dialect's arithmetic path (cents below 1e13, whole numbers) and the others
(read from their text): each user's rows mix both, and the rule asks for the exact total."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.segments.rules import reference
from segops_server.segments.rules.clickhouse import clickhouse_definition_compile
from segops_server.segments.rules.conditions.numbers import aggregate
from segops_server.segments.rules.conditions.values import MAX_ABS_NUMBER
from segops_server.testing.chdb import chdb_fresh, needs_chdb

NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
TENANT = 31

# Amounts on either side of every edge of the arithmetic path, and values that are no number.
AMOUNTS: list[Any] = [
    19.99, 0.1, 0.2, 0.3, 0.1 + 0.2, 1e-7, 123456789.12, -5.55, -0.0, 0, 7, -3,
    2**53, 2**53 + 1, 2**63 - 1, 2**63 + 5, 2**64 + 1,  # Int64, UInt64 and a string in ClickHouse
    9999999999999.99, 10000000000000.01, 75096506253819.1, 21474836.47, 1.005, 0.005, 12.345,
    "12.50", "-0.25", "1e3", " 12", True, None, [1], {"a": 1},
]  # fmt: skip


def _store(transport: Transport, rows: list[tuple[str, float, Any]]) -> list[dict[str, Any]]:
    """rows: (user, days ago, amount); the events, as the reference evaluator reads them."""
    events = [
        {
            "id": i,
            "user_id": user,
            "event_type": "order_placed",
            "occurred_at": NOW - timedelta(days=ago),
            "payload": {"amount": amount},
        }
        for i, (user, ago, amount) in enumerate(rows, start=1)
    ]
    block = [[e["id"], TENANT, e["event_type"], e["user_id"], e["occurred_at"], e["occurred_at"], None,
              json.dumps(e["payload"])] for e in events]  # fmt: skip
    transport.insert(EVENTS_TABLE, block, EVENT_COLUMNS)
    return events


def _spent(metric: str, op: str, value: Any, window: int | None = None) -> dict[str, Any]:
    condition = {"type": "monetary", "event_type": "order_placed", "property": "amount", "metric": metric}
    condition |= {"operator": op, "value": value, "window_days": window}
    return {"logic": "AND", "conditions": [condition]}


def _agree(transport: Transport, events: list[dict[str, Any]], definition: dict[str, Any]) -> set[str]:
    text, params = clickhouse_definition_compile(
        definition, tenant_id=TENANT, now=NOW, lookup_definition={}.get
    )
    found = {row[0] for row in transport.query(text, params)}
    expected = reference.evaluate(definition, events=events, properties={}, now=NOW, lookup_definition={}.get)
    assert found == expected, definition
    return found


def _number(value: Fraction) -> int | float:
    """A value for the rule that is exactly `value` (ints stay ints; the rest as decimals do)."""
    return value.numerator if value.denominator == 1 else float(Decimal(value.numerator) / value.denominator)


@needs_chdb
def test_each_amount_sums_averages_and_maxes_as_the_reference_reads_it() -> None:
    transport = chdb_fresh()
    # Alone, with a cent amount, and with a whole amount: each user's total is exact or it shows.
    rows = [(f"u{i}", 1, a) for i, a in enumerate(AMOUNTS)]
    rows += [(f"c{i}", days, a) for i, a in enumerate(AMOUNTS) for days, a in ((1, a), (2, 19.99))]
    rows += [(f"w{i}", days, a) for i, a in enumerate(AMOUNTS) for days, a in ((1, a), (2, 5))]
    events = _store(transport, rows)
    for user in sorted({r[0] for r in rows}):
        amounts = [e["payload"]["amount"] for e in events if e["user_id"] == user]
        for metric in ("sum", "avg", "max"):
            exact = aggregate(metric, amounts)
            if exact is None or abs(exact) > MAX_ABS_NUMBER:
                continue  # no number, or more than a rule's value can be
            members = _agree(transport, events, _spent(metric, "eq", _number(exact)))
            if Fraction(Decimal(repr(_number(exact)))) == exact:
                assert user in members, (user, metric, amounts)


@needs_chdb
def test_windows_split_both_kinds_of_amount() -> None:
    transport = chdb_fresh()
    rows = [("alice", 1, 0.1), ("alice", 2, 19.99), ("alice", 10, 0.2), ("alice", 11, 1e-7)]
    rows += [("bob", 1, "0.25"), ("bob", 12, 0.75), ("carol", 11, 3), ("carol", 1, 2**53)]
    events = _store(transport, rows)
    assert _agree(transport, events, _spent("sum", "eq", 20.09, window=5)) == {"alice"}
    # 11 days ago is not after the window's start: alice's 1e-7 stays out.
    assert _agree(transport, events, _spent("sum", "eq", 20.29, window=11)) == {"alice"}
    assert _agree(transport, events, _spent("avg", "eq", 0.25, window=5)) == {"bob"}
    assert _agree(transport, events, _spent("sum", "gte", 10**15, window=5)) == {"carol"}  # 2^53, not 3
    assert _agree(transport, events, _spent("sum", "lt", 0.01, window=0)) == {"alice", "bob", "carol"}


# Amounts of up to 15 significant digits (JSON text and the double agree both ways), whole
# numbers past 1e13, and the strings and values the rule language reads or refuses.
decimals = st.builds(
    lambda digits, places, sign: float(sign * Decimal(digits).scaleb(-places)),
    st.integers(0, 10**15 - 1),
    st.integers(0, 9),
    st.sampled_from([1, -1]),
)
amounts = st.one_of(
    st.integers(-(10**6), 10**6).map(lambda c: c / 100),
    decimals,
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from(["12.50", "-3", "1e3", "", True, None]),
)


@needs_chdb
@settings(
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    lists=st.lists(st.lists(amounts, min_size=1, max_size=6), min_size=1, max_size=4),
    metric=st.sampled_from(["sum", "avg", "max"]),
    op=st.sampled_from(["eq", "gte", "lt"]),
    pick=st.integers(0, 3),
)
def test_it_agrees_with_the_reference_on_any_amounts(
    lists: list[list[Any]], metric: str, op: str, pick: int
) -> None:
    transport = chdb_fresh()
    rows = [(f"u{i}", j % 3, amount) for i, amounts in enumerate(lists) for j, amount in enumerate(amounts)]
    events = _store(transport, rows)
    # The threshold is one user's exact figure, so eq, gte and lt meet it exactly.
    exact = aggregate(metric, lists[pick % len(lists)])
    value = _number(exact) if exact is not None and abs(exact) <= MAX_ABS_NUMBER else 0
    _agree(transport, events, _spent(metric, op, value))
