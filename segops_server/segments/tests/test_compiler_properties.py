"""event_property (the most recent such event) and user_property (traits): operators and coercion."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.tests.test_compiler_harness import History, ago, one, store

pytestmark = pytest.mark.django_db

# One user per kind of value of the trait "v"; "missing" has no "v" at all.
VALUES: dict[str, Any] = {
    "int12": 12,
    "float12": 12.0,
    "text12": "12",
    "text12_0": "12.0",
    "text12_5": "12.5",
    "exp": "1e1",
    "spaced": " 12",
    "true": True,
    "false": False,
    "null": None,
    "word": "Pro plan",
    "list": [12],
    "object": {"v": 12},
}


@pytest.fixture
def traits() -> History:
    users = [*VALUES, "missing"]
    return store(
        [(u, "page_viewed", ago(1), {}) for u in users],
        {u: {"v": v, "other": 1} for u, v in VALUES.items()} | {"missing": {"other": 1}},
    )


def trait(operator: str, value: Any = None) -> dict[str, Any]:
    return one({"type": "user_property", "property": "v", "operator": operator, "value": value})


NUMBERS = {"int12", "float12", "text12", "text12_0"}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        # Numeric operators: JSON numbers and plain-decimal strings, nothing else.
        ("gt", 11, NUMBERS | {"text12_5"}),
        ("gte", 12.5, {"text12_5"}),
        ("lt", 12.5, NUMBERS),
        ("lte", 12, NUMBERS),
        ("between", [12.25, 13], {"text12_5"}),
        # eq with a number compares numerically; with a string, strings only, as they are.
        ("eq", 12, NUMBERS),
        ("eq", "12", {"text12"}),
        ("eq", "Pro plan", {"word"}),
        ("eq", True, {"true"}),
        ("eq", False, {"false"}),
        ("in", [12.5, "12", True], {"text12", "text12_5", "true"}),
        # Text operators: string values only, case-sensitive.
        ("contains", "plan", {"word"}),
        ("contains", "Plan", set()),
        ("contains", "2", {"text12", "text12_0", "text12_5", "spaced"}),
        ("starts_with", "12", {"text12", "text12_0", "text12_5"}),
        ("ends_with", "lan", {"word"}),
        ("ends_with", "", {"text12", "text12_0", "text12_5", "exp", "spaced", "word"}),
        ("matches_regex", "^[0-9]+$", {"text12"}),
        ("matches_regex", "o p", {"word"}),
        # Presence and booleans.
        ("is_set", None, set(VALUES) - {"null"}),
        ("is_not_set", None, {"null", "missing"}),
        ("is_true", None, {"true"}),
        ("is_false", None, {"false"}),
    ],
)
def test_it_compares_traits_by_the_documented_coercion(
    traits: History, operator: str, value: Any, expected: set[str]
) -> None:
    assert traits.match(trait(operator, value)) == expected


@pytest.mark.parametrize(
    ("negative", "positive", "value"),
    [
        ("neq", "eq", 12),
        ("neq", "eq", "Pro plan"),
        ("not_in", "in", [12, "x"]),
        ("not_between", "between", [0, 100]),
        ("does_not_contain", "contains", "1"),
    ],
)
def test_it_makes_each_negative_operator_exactly_not_its_positive(
    traits: History, negative: str, positive: str, value: Any
) -> None:
    everyone = {*VALUES, "missing"}
    # A missing property is never equal, so it is "not equal".
    assert traits.match(trait(negative, value)) == everyone - traits.match(trait(positive, value))
    assert "missing" in traits.match(trait(negative, value))


def test_it_reads_the_most_recent_event_of_the_type() -> None:
    history = store(
        [
            ("u1", "plan_changed", ago(3), {"plan": "pro"}),
            ("u1", "plan_changed", ago(1), {"plan": "free"}),
            ("u1", "page_viewed", ago(0), {"plan": "pro"}),
            ("u2", "plan_changed", ago(2), {"plan": "pro"}),
            ("u3", "page_viewed", ago(1), {}),
            # Same instant: the one inserted last (highest id) is the most recent.
            ("u4", "plan_changed", ago(1), {"plan": "free"}),
            ("u4", "plan_changed", ago(1), {"plan": "pro"}),
            ("u5", "plan_changed", ago(1), {"seats": 3}),
        ]
    )

    def plan(operator: str, value: Any = None) -> dict[str, Any]:
        return one(
            {
                "type": "event_property",
                "event_type": "plan_changed",
                "property": "plan",
                "operator": operator,
                "value": value,
            }
        )

    assert history.match(plan("eq", "pro")) == {"u2", "u4"}
    # No such event (u3), or no such property on it (u5): missing, so not equal.
    assert history.match(plan("neq", "pro")) == {"u1", "u3", "u5"}
    assert history.match(plan("is_not_set")) == {"u3", "u5"}


def test_it_reads_traits_from_the_profile() -> None:
    history = store(
        [
            ("u1", "page_viewed", ago(1), {}),
            ("u2", "page_viewed", ago(1), {}),
            ("u3", "page_viewed", ago(1), {}),
        ],
        {"u1": {"plan": "pro", "seats": "25"}, "u2": {"plan": "free", "seats": 3}},
    )
    rule = {
        "logic": "OR",
        "conditions": [
            {"type": "user_property", "property": "seats", "operator": "gte", "value": 10},
            {"type": "user_property", "property": "plan", "operator": "eq", "value": "free"},
        ],
    }
    assert history.match(rule) == {"u1", "u2"}
    assert history.match(one({"type": "user_property", "property": "plan", "operator": "is_not_set"})) == {
        "u3"
    }


def test_it_uses_traits_when_a_group_drives_the_query() -> None:
    history = store(
        [
            ("u1", "order_placed", ago(1), {}),
            ("u2", "order_placed", ago(1), {}),
            ("u3", "page_viewed", ago(1), {}),
        ],
        {"u1": {"plan": "pro"}, "u3": {"plan": "pro"}},
    )
    rule = {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1},
            {"type": "user_property", "property": "plan", "operator": "neq", "value": "pro"},
        ],
    }
    assert history.match(rule) == {"u2"}
