"""Definition validation: malformed input names its position and field; valid input normalises."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.rules.dsl import DefinitionError, definition_validate


def no_segments(segment_id: int) -> dict[str, Any] | None:
    return None


def validate(definition: Any) -> dict[str, Any]:
    return definition_validate(definition, lookup_definition=no_segments)


def one(condition: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": [condition]}


COUNT = {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}
TRAIT = {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}


def nested(depth: int) -> dict[str, Any]:
    group: dict[str, Any] = one(COUNT)
    for _ in range(depth - 1):
        group = {"logic": "OR", "conditions": [group]}
    return group


MALFORMED: list[tuple[Any, str]] = [
    ([], "definition: must be a JSON object"),
    ({"logic": "XOR", "conditions": [COUNT]}, "logic: must be 'AND' or 'OR'"),
    ({"logic": "AND"}, "conditions: must be a list"),
    ({"logic": "AND", "conditions": []}, "conditions: must have at least one condition"),
    ({"logic": "AND", "conditions": [COUNT], "name": "x"}, "name: unknown field"),
    ({"logic": "AND", "conditions": ["event_count"]}, "conditions[0]: must be an object"),
    (one({"event_type": "x"}), "conditions[0].type: required"),
    (one({"type": "ai_magic"}), "conditions[0].type: unknown condition type 'ai_magic'"),
    (one({**COUNT, "colour": "red"}), "conditions[0].colour: unknown field for a event_count condition"),
    (one({**COUNT, "value": None}), "conditions[0].value: required"),
    (one({**COUNT, "event_type": "Order Placed"}), "conditions[0].event_type: must be an event type"),
    (one({**COUNT, "event_type": 7}), "conditions[0].event_type: must be an event type"),
    (
        one({**COUNT, "operator": "contains"}),
        "conditions[0].operator: 'contains' does not apply to a numeric",
    ),
    (one({**COUNT, "operator": "roughly"}), "conditions[0].operator: unknown operator 'roughly'"),
    (one({**COUNT, "value": -1}), "conditions[0].value: must be a whole number from 0"),
    (one({**COUNT, "value": 1.5}), "conditions[0].value: must be a whole number"),
    (one({**COUNT, "value": True}), "conditions[0].value: must be a whole number"),
    (one({**COUNT, "value": "2"}), "conditions[0].value: must be a whole number"),
    (one({**COUNT, "window_days": -7}), "conditions[0].window_days: must be a whole number from 0"),
    (
        one({**COUNT, "window_days": 100_000}),
        "conditions[0].window_days: must be a whole number from 0 to 36500",
    ),
    (one({**COUNT, "window_days": "7"}), "conditions[0].window_days: must be a whole number"),
    (one({**COUNT, "operator": "between", "value": 3}), "conditions[0].value: 'between' takes [low, high]"),
    (one({**COUNT, "operator": "between", "value": [5, 1]}), "conditions[0].value: low must not be greater"),
    (one({**COUNT, "operator": "between", "value": [1, "a"]}), "conditions[0].value[1]: must be a whole"),
    (one({**COUNT, "operator": "in", "value": []}), "conditions[0].value: 'in' takes a non-empty list"),
    (one({**COUNT, "operator": "in", "value": 3}), "conditions[0].value: 'in' takes a non-empty list"),
    (one({**COUNT, "operator": "eq", "value": [3]}), "conditions[0].value: 'eq' takes one value, not a list"),
    (
        one({"type": "recency", "event_type": "login", "operator": "gt"}),
        "conditions[0].window_days: required",
    ),
    (
        one({"type": "recency", "event_type": "login", "operator": "gt", "value": 3, "window_days": 3}),
        "conditions[0].value: unknown field for a recency condition",
    ),
    (
        one(
            {
                "type": "monetary",
                "event_type": "order_placed",
                "property": "total",
                "metric": "median",
                "operator": "gt",
                "value": 5,
            }
        ),
        "conditions[0].metric: must be one of sum, avg, max",
    ),
    (
        one(
            {
                "type": "monetary",
                "event_type": "order_placed",
                "property": "total",
                "metric": "sum",
                "operator": "gt",
                "value": float("nan"),
            }
        ),
        "conditions[0].value: must be a finite number",
    ),
    (
        one(
            {
                "type": "monetary",
                "event_type": "order_placed",
                "property": "to.tal",
                "metric": "sum",
                "operator": "gt",
                "value": 5,
            }
        ),
        "conditions[0].property: must be a property name",
    ),
    (one({**TRAIT, "property": "plan' OR 1=1 --"}), "conditions[0].property: must be a property name"),
    (one({**TRAIT, "property": "-plan"}), "conditions[0].property: must be a property name"),
    (one({**TRAIT, "property": "p" * 101}), "conditions[0].property: must be a property name"),
    (one({**TRAIT, "property": "a.b"}), "conditions[0].property: must be a property name"),
    (one({**TRAIT, "operator": "gt"}), "conditions[0].operator: 'gt' does not apply to a text value"),
    (
        one({**TRAIT, "operator": "between", "value": "a"}),
        "conditions[0].operator: 'between' does not apply to a text",
    ),
    (
        one({**TRAIT, "operator": "contains", "value": 5}),
        "conditions[0].operator: 'contains' does not apply to a numeric",
    ),
    (
        one({**TRAIT, "operator": "gte", "value": True}),
        "conditions[0].operator: 'gte' does not apply to a boolean",
    ),
    (
        one({**TRAIT, "operator": "eq", "value": [1]}),
        "conditions[0].operator: 'eq' does not apply to a list value",
    ),
    (one({**TRAIT, "operator": "eq", "value": {"a": 1}}), "conditions[0].value: must be a string, a number"),
    (one({**TRAIT, "operator": "in", "value": [[1]]}), "conditions[0].value[0]: must be a string, a number"),
    (one({**TRAIT, "operator": "between", "value": [1, "2"]}), "conditions[0].value[1]: must be a number"),
    (one({**TRAIT, "operator": "is_set", "value": "x"}), "conditions[0].value: 'is_set' takes no value"),
    (one({**TRAIT, "value": None}), "conditions[0].value: required"),
    (one({**TRAIT, "operator": "spaceship"}), "conditions[0].operator: unknown operator 'spaceship'"),
    (one({**TRAIT, "operator": "contains", "value": {"a": 1}}), "conditions[0].value: must be a string"),
    (one({**TRAIT, "value": "a\x00b"}), "conditions[0].value: must not contain NUL"),
    (one({**TRAIT, "value": "x" * 1001}), "conditions[0].value: at most 1000 characters"),
    (
        one({**TRAIT, "operator": "matches_regex", "value": "(unclosed"}),
        "conditions[0].value: not a valid regular",
    ),
    (one({**TRAIT, "operator": "in", "value": list(range(1001))}), "conditions[0].value: at most 1000 items"),
    (
        one({"type": "event_property", "property": "plan", "operator": "eq", "value": "pro"}),
        "conditions[0].event_type: required",
    ),
    (
        one({"type": "event_sequence", "events": ["signup"]}),
        "conditions[0].events: must be a list of 2 to 10",
    ),
    (
        one({"type": "event_sequence", "events": ["a"] * 11}),
        "conditions[0].events: must be a list of 2 to 10",
    ),
    (one({"type": "event_sequence", "events": "signup,order"}), "conditions[0].events: must be a list"),
    (
        one({"type": "event_sequence", "events": ["signup", "Bad"]}),
        "conditions[0].events[1]: must be an event type",
    ),
    (
        one({"type": "event_sequence", "events": ["signup", "login"], "strict": "yes"}),
        "conditions[0].strict: must be true or false",
    ),
    (
        one({"type": "segment_membership", "segment_id": "7", "operator": "in"}),
        "conditions[0].segment_id: must be a whole number from 1",
    ),
    (
        one({"type": "segment_membership", "segment_id": 7, "operator": "eq"}),
        "conditions[0].operator: must be one of in, not_in",
    ),
    (
        {
            "logic": "AND",
            "conditions": [COUNT, {"logic": "OR", "conditions": [TRAIT, {**TRAIT, "operator": "gt"}]}],
        },
        "conditions[1].conditions[1].operator: 'gt' does not apply to a text value",
    ),
    (
        {"logic": "AND", "conditions": [COUNT, {"logic": "OR", "conditions": []}]},
        "conditions[1].conditions: must have",
    ),
    (
        {"logic": "AND", "conditions": [{"logic": "NOR", "conditions": [COUNT]}]},
        "conditions[0].logic: must be 'AND'",
    ),
    (
        nested(6),
        "conditions[0].conditions[0].conditions[0].conditions[0].conditions[0]: groups nest too deep",
    ),
    ({"logic": "OR", "conditions": [COUNT] * 51}, "conditions[50]: too many conditions (at most 50 in all)"),
    (
        {"logic": "OR", "conditions": [{"logic": "AND", "conditions": [COUNT] * 25}] * 2},
        "conditions[1].conditions[23]: too many conditions",
    ),
]


@pytest.mark.parametrize(("definition", "message"), MALFORMED)
def test_it_names_the_position_and_field_of_a_malformed_definition(definition: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as error:
        validate(definition)
    assert str(error.value).startswith(message), str(error.value)


def test_it_fills_defaults_and_makes_whole_numbers_ints() -> None:
    definition = {
        "conditions": [
            {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2.0},
            {"type": "recency", "event_type": "login", "operator": "between", "window_days": [7.0, 30]},
            {"type": "event_sequence", "events": ["signup", "order_placed"]},
            {"type": "user_property", "property": "vip", "operator": "is_true", "value": None},
            {"conditions": [{"type": "segment_membership", "segment_id": 3.0, "operator": "not_in"}]},
        ]
    }
    segments = {3: one(COUNT)}
    assert definition_validate(definition, lookup_definition=segments.get) == {
        "logic": "AND",
        "conditions": [
            {
                "type": "event_count",
                "event_type": "order_placed",
                "operator": "gte",
                "value": 2,
                "window_days": None,
            },
            {"type": "recency", "event_type": "login", "operator": "between", "window_days": [7, 30]},
            {
                "type": "event_sequence",
                "events": ["signup", "order_placed"],
                "window_days": None,
                "strict": False,
            },
            {"type": "user_property", "property": "vip", "operator": "is_true"},
            {
                "logic": "AND",
                "conditions": [{"type": "segment_membership", "segment_id": 3, "operator": "not_in"}],
            },
        ],
    }


def test_it_returns_a_normalised_definition_unchanged() -> None:
    high_value_churners = {
        "logic": "AND",
        "conditions": [
            {
                "type": "monetary",
                "event_type": "order_placed",
                "property": "total",
                "metric": "sum",
                "operator": "gte",
                "value": 500,
                "window_days": None,
            },
            {"type": "recency", "event_type": "order_placed", "operator": "gt", "window_days": 30},
        ],
    }
    assert validate(high_value_churners) == high_value_churners
    assert validate(validate(high_value_churners)) == high_value_churners


@pytest.mark.parametrize(
    "condition",
    [
        {**TRAIT, "operator": "eq", "value": 12.5},
        {**TRAIT, "operator": "neq", "value": False},
        {**TRAIT, "operator": "in", "value": ["pro", 3, True]},
        {**TRAIT, "operator": "not_between", "value": [-1.5, 1.5]},
        {**TRAIT, "operator": "does_not_contain", "value": ""},
        {**TRAIT, "operator": "matches_regex", "value": "^[a-z]+$"},
        {**TRAIT, "operator": "is_not_set", "value": None},
        {**TRAIT, "property": "utm-source_2"},
        {
            "type": "event_property",
            "event_type": "page_viewed",
            "property": "path",
            "operator": "starts_with",
            "value": "/pricing",
        },
        {"type": "recency", "event_type": "login", "operator": "in", "window_days": [0, 1]},
        {
            "type": "monetary",
            "event_type": "order_placed",
            "property": "total",
            "metric": "avg",
            "operator": "not_in",
            "value": [9.99, 10],
            "window_days": 0,
        },
        {
            "type": "event_sequence",
            "events": ["signup", "signup", "order_placed"],
            "window_days": 7,
            "strict": True,
        },
    ],
)
def test_it_accepts_each_operator_where_it_fits(condition: dict[str, Any]) -> None:
    normalised = validate(one(condition))["conditions"][0]
    assert {k: v for k, v in normalised.items() if v is not None} == {
        k: v for k, v in condition.items() if v is not None
    }


def test_it_allows_fifty_conditions_and_five_levels() -> None:
    validate({"logic": "OR", "conditions": [COUNT] * 50})
    validate(nested(5))
