"""The rule builder's state: form ⇄ tree ⇄ DSL, the add/remove/group actions, errors on their row."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict

from segops_server.console import builder
from segops_server.segments.rules.dsl import definition_validate


def _form(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    return data


def _valid(definition: dict[str, Any]) -> dict[str, Any]:
    return definition_validate(definition, lookup_definition=lambda _id: {"logic": "AND", "conditions": []})


TWO_ROWS = [
    ("r-logic", "OR"),
    ("node", "r.0"),
    ("r.0-kind", "condition"),
    ("r.0-type", "event_count"),
    ("r.0-event_type", "order_placed"),
    ("r.0-operator", "gte"),
    ("r.0-value", "3"),
    ("r.0-window_days", "30"),
    ("node", "r.1"),
    ("r.1-kind", "group"),
    ("r.1-logic", "AND"),
    ("node", "r.1.0"),
    ("r.1.0-kind", "condition"),
    ("r.1.0-type", "user_property"),
    ("r.1.0-property", "plan"),
    ("r.1.0-operator", "eq"),
    ("r.1.0-value", "pro"),
]


def test_it_reads_the_form_into_a_tree_and_the_dsl() -> None:
    tree = builder.tree_from_post(_form(TWO_ROWS))
    assert [c.path for c in tree.children] == ["r.0", "r.1"]
    assert tree.children[1].children[0].path == "r.1.0"
    assert builder.tree_to_definition(tree) == {
        "logic": "OR",
        "conditions": [
            {
                "type": "event_count",
                "event_type": "order_placed",
                "operator": "gte",
                "value": 3,
                "window_days": 30,
            },
            {
                "logic": "AND",
                "conditions": [
                    {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}
                ],
            },
        ],
    }


def test_it_ignores_tampered_paths() -> None:
    pairs = [*TWO_ROWS, ("node", "r.7.3"), ("node", "x"), ("node", "r.0.1"), ("node", "r.0")]
    tree = builder.tree_from_post(_form(pairs))
    assert len(tree.children) == 2
    assert tree.children[0].children == []


def test_it_adds_and_removes_rows_and_groups_and_renumbers() -> None:
    tree = builder.tree_from_post(_form(TWO_ROWS))
    builder.apply_action(tree, "add:r.1")
    assert [c.path for c in tree.children[1].children] == ["r.1.0", "r.1.1"]
    builder.apply_action(tree, "group:r")
    assert tree.children[2].kind == "group"
    assert tree.children[2].children[0].path == "r.2.0"
    builder.apply_action(tree, "remove:r.0")
    assert [c.path for c in tree.children] == ["r.0", "r.1"]
    assert tree.children[0].children[0].values["type"] == "user_property"
    assert builder.apply_action(tree, "remove:r") == ""  # the top group stays
    assert builder.apply_action(tree, "add:r.9") == ""  # nothing there
    assert len(tree.children) == 2


def test_it_stops_at_the_dsls_limits() -> None:
    tree = builder.new_tree()
    node = tree
    for _ in range(4):
        builder.apply_action(tree, f"group:{node.path}")
        node = node.children[-1]
    assert node.depth == 5
    assert "nest at most" in builder.apply_action(tree, f"group:{node.path}")
    flat = builder.new_tree()
    for _ in range(49):
        builder.apply_action(flat, "add:r")
    assert "at most 50" in builder.apply_action(flat, "add:r")


CONDITIONS = [
    {
        "type": "event_count",
        "event_type": "login",
        "operator": "between",
        "value": [2, 5],
        "window_days": None,
    },
    {"type": "recency", "event_type": "login", "operator": "gt", "window_days": 30},
    {
        "type": "monetary",
        "event_type": "order_placed",
        "property": "amount",
        "metric": "sum",
        "operator": "gte",
        "value": 99.5,
        "window_days": 90,
    },
    {
        "type": "event_property",
        "event_type": "order_placed",
        "property": "currency",
        "operator": "in",
        "value": ["EUR", "USD"],
    },
    {"type": "event_property", "event_type": "signup", "property": "referrer", "operator": "is_set"},
    {"type": "user_property", "property": "plan", "operator": "eq", "value": "42"},
    {"type": "user_property", "property": "beta", "operator": "eq", "value": True},
    {"type": "user_property", "property": "age", "operator": "gte", "value": 18},
    {"type": "user_property", "property": "email", "operator": "ends_with", "value": "@acme.test"},
    {"type": "event_sequence", "events": ["signup", "order_placed"], "window_days": 7, "strict": True},
    {"type": "segment_membership", "segment_id": 3, "operator": "not_in"},
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: f"{c['type']}-{c.get('operator', '')}")
def test_every_condition_type_goes_to_the_form_and_back_unchanged(condition: dict[str, Any]) -> None:
    definition = _valid({"logic": "AND", "conditions": [condition]})
    tree = builder.tree_from_definition(definition)
    # Render it as the browser would post it back.
    pairs: list[tuple[str, str]] = [("r-logic", tree.logic)]
    for node in tree.children:
        pairs += [("node", node.path), (f"{node.path}-kind", "condition")]
        pairs += [(f"{node.path}-{name}", value) for name, value in node.values.items()]
    again = builder.tree_to_definition(builder.tree_from_post(_form(pairs)))
    assert _valid(again) == definition


def test_the_fields_follow_the_condition_type() -> None:
    def names(kind: str, operator: str = "") -> list[str]:
        node = builder.new_condition(kind)
        if operator:
            node.values["operator"] = operator
        return [f.name for f in builder.row_fields(node, [(1, "Other")])]

    assert names("event_count") == ["type", "event_type", "operator", "value", "window_days"]
    assert names("recency") == ["type", "event_type", "operator", "value"]
    assert names("monetary") == [
        "type",
        "event_type",
        "property",
        "metric",
        "operator",
        "value",
        "window_days",
    ]
    assert names("event_property") == ["type", "event_type", "property", "operator", "value"]
    assert names("user_property", "is_set") == ["type", "property", "operator", "value"]  # CSS hides it
    assert names("event_sequence") == ["type", "events", "window_days", "strict"]
    assert names("segment_membership") == ["type", "operator", "segment_id"]


def test_it_offers_each_type_only_its_operators() -> None:
    ops = {f.name: f for f in builder.row_fields(builder.new_condition("segment_membership"), [])}["operator"]
    assert [value for value, _ in ops.options] == ["in", "not_in"]
    node = builder.new_condition("event_count")
    node.values["operator"] = "contains"  # left over from a property row
    ops = {f.name: f for f in builder.row_fields(node, [])}["operator"]
    assert ops.value == "gte"
    assert "contains" not in [value for value, _ in ops.options]


def test_it_puts_a_dsl_error_on_its_row() -> None:
    tree = builder.tree_from_post(_form(TWO_ROWS))
    builder.place_error(tree, "conditions[1].conditions[0].value: must be a number")
    assert tree.children[1].children[0].error == "conditions[1].conditions[0].value: must be a number"
    builder.place_error(tree, "conditions: must have at least one condition")
    assert tree.error.startswith("conditions:")


def test_quoted_text_stays_text_and_bare_words_are_typed() -> None:
    assert builder._scalar('"42"') == "42"
    assert builder._scalar("42") == 42
    assert builder._scalar("4.5") == 4.5
    assert builder._scalar("true") is True
    assert builder._scalar("pro") == "pro"
    assert builder._number("abc") == "abc"  # left for the DSL to refuse in its own words
