"""Property test: for random histories and random definitions, the SQL agrees with the reference.

Numbers are whole or quarters, so SQLite's doubles are exact and both databases must agree
with the exact reference to the last bit; times sit on a 12-hour grid, so window boundaries
(occurred_at == now - window_days) come up often, sometimes a microsecond off.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segops_server.segments.rules import dsl
from segops_server.segments.tests.test_compiler_harness import History, clear, store
from segops_server.testing.factories import make_tenant

USERS = [f"u{i}" for i in range(6)]
TYPES = ["signup", "order_placed", "page_viewed"]
PROPERTIES = ["total", "plan", "flag"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
TEXTS = [
    "12",
    "12.5",
    "-3",
    "007",
    "0.25",
    "1e3",
    "12.",
    " 12",
    "-",
    "abc",
    "ab",
    "b1",
    "",
    "a.b",
    "x' OR 1=1 --",
]
PATTERNS = ["^a", "b$", "a.b", "[0-9]+", "^[a-c]*$", "1\\.5", "^$", "^-?[0-9]+$"]

numbers = st.one_of(st.integers(-5, 600), st.integers(-20, 2400).map(lambda n: n / 4))
scalars = st.one_of(numbers, st.sampled_from(TEXTS), st.booleans())
json_values = st.one_of(
    st.none(), st.booleans(), numbers, st.sampled_from(TEXTS), st.just([1]), st.just({"a": 1})
)
payloads = st.dictionaries(st.sampled_from(PROPERTIES), json_values, max_size=3)
times = st.builds(
    lambda half_days, micros: BASE + timedelta(hours=12 * half_days, microseconds=micros),
    st.integers(0, 100),
    st.sampled_from([0, 0, 0, 1, 500_000]),
)
event_rows = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(TYPES), times, payloads), min_size=8, max_size=30
)
traits = st.dictionaries(st.sampled_from(USERS), payloads, max_size=6)
nows = st.integers(0, 110).map(lambda half_days: BASE + timedelta(hours=12 * half_days))
days = st.integers(0, 40)


def shaped(operator: str, one: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if operator in dsl.RANGE_OPERATORS:
        return st.tuples(one, one).map(sorted)
    if operator in dsl.LIST_OPERATORS:
        return st.lists(one, min_size=1, max_size=3)
    return one


def compared(operator_strategy: st.SearchStrategy[str], field: str, one: st.SearchStrategy[Any]) -> Any:
    return operator_strategy.flatmap(lambda op: shaped(op, one).map(lambda v: {"operator": op, field: v}))


numeric_ops = st.sampled_from(dsl.NUMERIC_OPERATORS)
windows = st.one_of(st.none(), days)


@st.composite
def property_comparison(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(dsl.PROPERTY_OPERATORS))
    if op in dsl.VALUELESS_OPERATORS:
        return {"operator": op}
    if op == "matches_regex":
        return {"operator": op, "value": draw(st.sampled_from(PATTERNS))}
    if op in dsl.TEXT_OPERATORS:
        return {"operator": op, "value": draw(st.sampled_from(["a", "b", "1", "", "ab", "12", "."]))}
    if op in dsl.ORDER_OPERATORS or op in dsl.RANGE_OPERATORS:
        return {"operator": op, "value": draw(shaped(op, numbers))}
    return {"operator": op, "value": draw(shaped(op, scalars))}


def with_type(kind: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(kind), **fields})


def merged(base: st.SearchStrategy[dict[str, Any]], extra: st.SearchStrategy[Any]) -> Any:
    return st.tuples(base, extra).map(lambda pair: {**pair[0], **pair[1]})


event_types = st.sampled_from(TYPES)
leaf = st.one_of(
    merged(
        with_type("event_count", event_type=event_types, window_days=windows),
        compared(numeric_ops, "value", st.integers(0, 4)),
    ),
    merged(with_type("recency", event_type=event_types), compared(numeric_ops, "window_days", days)),
    merged(
        with_type(
            "monetary",
            event_type=event_types,
            property=st.sampled_from(PROPERTIES),
            metric=st.sampled_from(dsl.METRICS),
            window_days=windows,
        ),
        compared(numeric_ops, "value", numbers),
    ),
    merged(
        with_type("event_property", event_type=event_types, property=st.sampled_from(PROPERTIES)),
        property_comparison(),
    ),
    merged(with_type("user_property", property=st.sampled_from(PROPERTIES)), property_comparison()),
    with_type(
        "event_sequence",
        events=st.lists(event_types, min_size=2, max_size=3),
        window_days=windows,
        strict=st.booleans(),
    ),
)


def definitions(references: list[int], depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    conditions: st.SearchStrategy[dict[str, Any]] = leaf
    if references:
        membership = with_type(
            "segment_membership",
            segment_id=st.sampled_from(references),
            operator=st.sampled_from(["in", "not_in"]),
        )
        conditions = st.one_of(leaf, leaf, membership)
    for _ in range(depth - 1):
        conditions = st.one_of(conditions, conditions, group(conditions))
    return group(conditions)


def group(conditions: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"logic": st.sampled_from(["AND", "OR"]), "conditions": st.lists(conditions, min_size=1, max_size=3)}
    )


@pytest.fixture
def tenants(db: None) -> tuple[Any, Any]:
    return make_tenant(), make_tenant()


@settings(
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=event_rows,
    user_traits=traits,
    now=nows,
    first=definitions([]),
    second=definitions([1]),
    rule=definitions([1, 2]),
)
def test_it_agrees_with_the_reference_evaluator(
    tenants: tuple[Any, Any],
    rows: list[Any],
    user_traits: dict[str, dict[str, Any]],
    now: datetime,
    first: dict[str, Any],
    second: dict[str, Any],
    rule: dict[str, Any],
) -> None:
    tenant, other = tenants
    clear(tenant)
    clear(other)
    history: History = store(rows, user_traits, tenant=tenant, other=other)
    history.segments = {1: first, 2: second}
    everyone = {e["user_id"] for e in history.events}
    members = history.match(rule, now)
    event("rule matches " + ("none" if not members else "all" if members == everyone else "some"))
    # Each condition alone too: a rule of many conditions often matches no one.
    for condition in leaves(rule):
        members = history.match({"logic": "AND", "conditions": [condition]}, now)
        event(
            f"{condition['type']} matches "
            + ("none" if not members else "all" if members == everyone else "some")
        )


def leaves(group: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for condition in group["conditions"]:
        found += leaves(condition) if "conditions" in condition else [condition]
    return found
