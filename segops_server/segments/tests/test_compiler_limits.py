"""Definitions at the documented limits compile to SQL both databases run: 10 sequence steps,
1,000 values in an `in` list (SQLite refused 5 steps with "parser stack overflow" and 994 values
with "Expression tree is too large")."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.rules.dsl import MAX_LIST_ITEMS, MAX_SEQUENCE_STEPS
from segops_server.segments.tests.test_compiler_harness import ago, store

pytestmark = pytest.mark.django_db

STEPS = [f"step_{n}" for n in range(MAX_SEQUENCE_STEPS)]


def _one(condition: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": [condition]}


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("window_days", [None, 5])
def test_it_runs_a_sequence_of_the_most_steps(strict: bool, window_days: int | None) -> None:
    rows = [("all", step, ago(9 - n), {}) for n, step in enumerate(STEPS)]
    rows += [("gap", step, ago(9 - n), {}) for n, step in enumerate(STEPS) if n != 4]
    rows += [("noise", step, ago(9 - n, hours=1), {}) for n, step in enumerate(STEPS)]
    rows += [("noise", "other", ago(5), {})]
    history = store(rows)
    sequence = {"type": "event_sequence", "events": STEPS, "strict": strict, "window_days": window_days}
    expected = set() if window_days else {"all"} if strict else {"all", "noise"}
    assert history.match(_one(sequence)) == expected
    inverse = {"logic": "AND", "conditions": [{"logic": "OR", "conditions": [sequence]}]}
    assert history.match(inverse) == expected


def _values(kind: str) -> list[Any]:
    if kind == "strings":
        return [f"plan-{n}" for n in range(MAX_LIST_ITEMS - 1)] + ["pro"]
    if kind == "numbers":
        return [n + 0.5 for n in range(MAX_LIST_ITEMS - 1)] + [12]
    return [f"plan-{n}" for n in range(MAX_LIST_ITEMS - 3)] + [True, 12, "pro"]


@pytest.mark.parametrize("kind", ["strings", "numbers", "mixed"])
@pytest.mark.parametrize("operator", ["in", "not_in"])
@pytest.mark.parametrize("where", ["user_property", "event_property"])
def test_it_runs_the_longest_in_list_on_properties(kind: str, operator: str, where: str) -> None:
    values = {"pro": "pro", "twelve": "12", "twelve-n": 12.0, "yes": True, "no": False, "nothing": None}
    rows = [(user, "seen", ago(1), {"plan": value}) for user, value in values.items()]
    rows.append(("missing", "seen", ago(1), {}))
    history = store(rows, {user: {"plan": value} for user, value in values.items()})
    condition: dict[str, Any] = {
        "type": where,
        "property": "plan",
        "operator": operator,
        "value": _values(kind),
    }
    if where == "event_property":
        condition["event_type"] = "seen"
    members = history.match(_one(condition))
    positive = {
        "strings": {"pro"},
        "numbers": {"twelve", "twelve-n"},
        "mixed": {"pro", "twelve", "twelve-n", "yes"},
    }[kind]
    assert members == (positive if operator == "in" else {*values, "missing"} - positive)


@pytest.mark.parametrize("operator", ["in", "not_in"])
def test_it_runs_the_longest_in_list_on_aggregates(operator: str) -> None:
    rows = [("twice", "order", ago(1), {"amount": 5}), ("twice", "order", ago(2), {"amount": 7})]
    rows += [("once", "order", ago(1), {"amount": 4}), ("never", "seen", ago(3), {})]
    history = store(rows)
    many = list(range(3, 3 + MAX_LIST_ITEMS - 1))
    conditions = [
        {"type": "event_count", "event_type": "order", "operator": operator, "value": [*many, 2]},
        {"type": "recency", "event_type": "order", "operator": operator, "window_days": [*range(2, 1001), 1]},
        {
            "type": "monetary",
            "event_type": "order",
            "property": "amount",
            "metric": "avg",
            "operator": operator,
            "value": [n + 0.25 for n in many] + [6],
        },
        {
            "type": "monetary",
            "event_type": "order",
            "property": "amount",
            "metric": "sum",
            "operator": operator,
            "value": [*many, 12],
        },
    ]
    for condition in conditions:
        history.match(_one(condition))
    everything = {"logic": "AND", "conditions": conditions}
    assert history.match(everything) == ({"twice"} if operator == "in" else {"never"})
