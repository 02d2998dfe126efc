"""The rule builder's state: a tree of groups and condition rows, read from the posted form,
turned into the segment DSL (segments/dsl.py), and back again to edit a saved definition.

The browser keeps no state of its own: every htmx request posts the whole form, the server
rebuilds the tree, applies the one action (add a row, add a group, remove), and renders the
builder again. Field names carry each node's position: `r` is the top group, `r.1` its second
item, `r.1.0` the first item of that (nested) group.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from segops_server.segments.dsl import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MEMBERSHIP_OPERATORS,
    METRICS,
    NUMERIC_OPERATORS,
    PROPERTY_OPERATORS,
    RANGE_OPERATORS,
    TEXT_OPERATORS,
    VALUELESS_OPERATORS,
)

ROOT = "r"
PATH_RE = re.compile(r"r(?:\.\d{1,3})*")
MAX_NODES = MAX_CONDITIONS + 1  # the builder refuses to grow past what the DSL accepts

CONDITION_TYPES = [
    ("event_count", "Event count — how many times"),
    ("recency", "Recency — days since last done"),
    ("monetary", "Monetary — sum / avg / max of a property"),
    ("event_property", "Event property — on the latest such event"),
    ("user_property", "User property — a trait"),
    ("event_sequence", "Event sequence — did A, then B"),
    ("segment_membership", "Segment membership"),
]
TYPE_NAMES = [name for name, _ in CONDITION_TYPES]

OPERATOR_LABELS = {
    "eq": "=",
    "neq": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "between",
    "not_between": "not between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "does_not_contain": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "matches_regex": "matches regex",
    "is_set": "is set",
    "is_not_set": "is not set",
    "is_true": "is true",
    "is_false": "is false",
}
OPERATORS: dict[str, tuple[str, ...]] = {
    "event_count": NUMERIC_OPERATORS,
    "recency": NUMERIC_OPERATORS,
    "monetary": NUMERIC_OPERATORS,
    "event_property": PROPERTY_OPERATORS,
    "user_property": PROPERTY_OPERATORS,
    "segment_membership": MEMBERSHIP_OPERATORS,
}
DEFAULT_OPERATOR = {
    "event_count": "gte",
    "recency": "lt",
    "monetary": "gte",
    "event_property": "eq",
    "user_property": "eq",
    "event_sequence": "",
    "segment_membership": "in",
}
FIELD_NAMES = (
    "type",
    "event_type",
    "property",
    "metric",
    "operator",
    "value",
    "window_days",
    "events",
    "strict",
    "segment_id",
)


@dataclass
class Node:
    kind: str  # "group" or "condition"
    path: str = ROOT
    logic: str = "AND"
    values: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    error: str = ""
    fields: list[RowField] = field(default_factory=list)  # filled by prepare() for rendering

    @property
    def depth(self) -> int:
        return self.path.count(".") + 1

    @property
    def is_root(self) -> bool:
        return self.path == ROOT

    @property
    def can_nest(self) -> bool:
        return self.depth < MAX_DEPTH

    @property
    def type(self) -> str:
        kind = self.values.get("type", "")
        return kind if kind in TYPE_NAMES else TYPE_NAMES[0]


def new_condition(kind: str = "event_count") -> Node:
    return Node(kind="condition", values={"type": kind, "operator": DEFAULT_OPERATOR[kind]})


def new_tree() -> Node:
    return renumber(Node(kind="group", children=[new_condition()]))


def _count(node: Node) -> int:
    return 1 + sum(_count(child) for child in node.children)


def renumber(node: Node, path: str = ROOT) -> Node:
    node.path = path
    for index, child in enumerate(node.children):
        renumber(child, f"{path}.{index}")
    return node


def tree_from_post(data: QueryDict) -> Node:
    """The tree the form describes: `node` lists every item's path, parents before children."""
    root = Node(kind="group", logic=_logic(data.get("r-logic")))
    by_path = {ROOT: root}
    for path in data.getlist("node")[: MAX_NODES * 2]:
        parent_path = path.rpartition(".")[0]
        if not PATH_RE.fullmatch(path) or path in by_path or parent_path not in by_path:
            continue  # a tampered or duplicated path: ignore it rather than guess
        parent = by_path[parent_path]
        if parent.kind != "group":
            continue
        if data.get(f"{path}-kind") == "group":
            node = Node(kind="group", logic=_logic(data.get(f"{path}-logic")))
        else:
            node = Node(
                kind="condition",
                values={name: data.get(f"{path}-{name}", "").strip() for name in FIELD_NAMES},
            )
        parent.children.append(node)
        by_path[path] = node
    return renumber(root)


def _logic(value: str | None) -> str:
    return "OR" if value == "OR" else "AND"


def _find(root: Node, path: str) -> tuple[Node | None, Node | None]:
    """(the node at `path`, its parent)."""
    parent: Node | None = None
    node = root
    for index in path.split(".")[1:]:
        if not index.isdigit() or int(index) >= len(node.children):
            return None, None
        parent, node = node, node.children[int(index)]
    return node, parent


def apply_action(root: Node, action: str) -> str:
    """Apply `add:<path>`, `group:<path>` or `remove:<path>`; an empty string or a message."""
    verb, _, path = action.partition(":")
    node, parent = _find(root, path)
    if node is None:
        return ""
    if verb in ("add", "group"):
        if node.kind != "group":
            return ""
        if _count(root) + (2 if verb == "group" else 1) > MAX_NODES:
            return f"A definition holds at most {MAX_CONDITIONS} conditions and groups."
        if verb == "group" and not node.can_nest:
            return f"Groups nest at most {MAX_DEPTH} deep."
        node.children.append(
            Node(kind="group", children=[new_condition()]) if verb == "group" else new_condition()
        )
    elif verb == "remove" and parent is not None:
        parent.children.remove(node)
    renumber(root)
    return ""


# From the tree to the DSL ---------------------------------------------------------------------


def _number(text: str) -> Any:
    """A number if the text is one; otherwise the text, so the DSL names the error in its words."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _scalar(text: str) -> Any:
    """true/false, a number, or text; "quoted" text stays text even when it looks like a number."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    number = _number(text)
    return number if not isinstance(number, str) else text


def _optional_whole(text: str) -> Any:
    return None if text == "" else _number(text)


def _value(text: str, operator: str, parse: Any) -> Any:
    if operator in VALUELESS_OPERATORS:
        return None
    if operator in RANGE_OPERATORS or operator in ("in", "not_in"):
        return [parse(item.strip()) for item in text.split(",") if item.strip()]
    return None if text == "" else parse(text)


def condition_dsl(node: Node) -> dict[str, Any]:
    v = node.values
    kind = node.type
    operator = v.get("operator", "")
    out: dict[str, Any] = {"type": kind}
    if kind == "event_sequence":
        out["events"] = [e for e in re.split(r"[\s,>→]+", v.get("events", "")) if e]
        out["window_days"] = _optional_whole(v.get("window_days", ""))
        out["strict"] = v.get("strict") in ("on", "true", "1")
        return out
    if kind == "segment_membership":
        out["segment_id"] = _optional_whole(v.get("segment_id", ""))
        out["operator"] = operator
        return out
    if kind != "user_property":
        out["event_type"] = v.get("event_type", "")
    if kind in ("monetary", "event_property", "user_property"):
        out["property"] = v.get("property", "")
    if kind == "monetary":
        out["metric"] = v.get("metric", "")
    out["operator"] = operator
    if kind == "recency":
        out["window_days"] = _value(v.get("value", ""), operator, _number)
        return out
    if kind in ("event_property", "user_property"):
        parse = (lambda text: text) if operator in TEXT_OPERATORS else _scalar
        value = _value(v.get("value", ""), operator, parse)
        if value is not None:
            out["value"] = value
        return out
    out["value"] = _value(v.get("value", ""), operator, _number)
    out["window_days"] = _optional_whole(v.get("window_days", ""))
    return out


def tree_to_definition(node: Node) -> dict[str, Any]:
    if node.kind == "condition":
        return condition_dsl(node)
    return {"logic": node.logic, "conditions": [tree_to_definition(child) for child in node.children]}


# From a saved definition back to the tree -----------------------------------------------------


def _text(value: Any, *, scalar: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(item, scalar=scalar) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and scalar and _scalar(value) != value:
        return f'"{value}"'  # text that would read back as a number or a boolean
    return str(value)


def tree_from_definition(definition: dict[str, Any] | None) -> Node:
    if not definition:
        return new_tree()

    def walk(item: dict[str, Any]) -> Node:
        if "type" not in item:
            return Node(
                kind="group",
                logic=_logic(item.get("logic")),
                children=[walk(child) for child in item.get("conditions", [])],
            )
        kind = item["type"]
        values = dict.fromkeys(FIELD_NAMES, "")
        values.update(
            type=kind,
            event_type=str(item.get("event_type") or ""),
            property=str(item.get("property") or ""),
            metric=str(item.get("metric") or ""),
            operator=str(item.get("operator") or ""),
            segment_id=_text(item.get("segment_id"), scalar=False),
        )
        scalar = kind in ("event_property", "user_property") and item.get("operator") not in TEXT_OPERATORS
        if kind == "recency":
            values["value"] = _text(item.get("window_days"), scalar=False)
        else:
            values["value"] = _text(item.get("value"), scalar=scalar)
            values["window_days"] = _text(item.get("window_days"), scalar=False)
        if kind == "event_sequence":
            values["events"] = ", ".join(item.get("events") or [])
            values["strict"] = "on" if item.get("strict") else ""
        return Node(kind="condition", values=values)

    return renumber(walk(definition))


# Errors from the DSL, placed on the row they are about -----------------------------------------


def place_error(root: Node, message: str) -> None:
    """`conditions[1].conditions[0].value: must be a number` goes on row r.1.0."""
    where, _, _ = message.partition(": ")
    indices = re.findall(r"conditions\[(\d+)\]", where)
    node: Node = root
    for index in indices:
        if int(index) >= len(node.children):
            break
        node = node.children[int(index)]
    if node.kind == "condition" and node.type == "recency":
        message = message.replace(".window_days:", ".days:")
    node.error = message


# What a row shows, by condition type -----------------------------------------------------------


@dataclass
class RowField:
    name: str
    label: str
    kind: str  # "text", "select" or "check"
    value: str
    options: list[tuple[str, str]] = field(default_factory=list)
    placeholder: str = ""
    wide: bool = False
    rerender: bool = False  # changing it re-renders the builder (the fields depend on it)


def _operator_field(kind: str, value: str) -> RowField:
    choices = OPERATORS[kind]
    if value not in choices:
        value = DEFAULT_OPERATOR[kind]
    # No redraw on a new operator: a redraw racing the next keystroke would lose it. The value
    # box is always there and CSS hides it for operators that take none (is_set, is_true...).
    return RowField("operator", "Operator", "select", value, [(op, OPERATOR_LABELS[op]) for op in choices])


def row_fields(node: Node, segments: list[tuple[int, str]]) -> list[RowField]:
    """The inputs of one condition row, in order; they follow the chosen condition type."""
    v = node.values
    kind = node.type
    fields = [RowField("type", "Condition", "select", kind, CONDITION_TYPES, wide=True, rerender=True)]
    event_type = RowField(
        "event_type", "Event type", "text", v.get("event_type", ""), placeholder="order_placed"
    )
    window = RowField(
        "window_days", "In the last (days)", "text", v.get("window_days", ""), placeholder="any time"
    )
    if kind == "event_sequence":
        return [
            *fields,
            RowField(
                "events",
                "Events, in order",
                "text",
                v.get("events", ""),
                placeholder="signup, purchase",
                wide=True,
            ),
            RowField(
                "window_days", "Within (days)", "text", v.get("window_days", ""), placeholder="any time"
            ),
            RowField("strict", "Strictly consecutive", "check", v.get("strict", "")),
        ]
    if kind == "segment_membership":
        options = [("", "Choose a segment")] + [(str(pk), name) for pk, name in segments]
        return [
            *fields,
            _operator_field(kind, v.get("operator", "")),
            RowField("segment_id", "Segment", "select", v.get("segment_id", ""), options, wide=True),
        ]
    if kind != "user_property":
        fields.append(event_type)
    if kind == "monetary":
        fields.append(RowField("property", "Property", "text", v.get("property", ""), placeholder="amount"))
        fields.append(
            RowField("metric", "Metric", "select", v.get("metric", "") or "sum", [(m, m) for m in METRICS])
        )
    if kind in ("event_property", "user_property"):
        fields.append(RowField("property", "Property", "text", v.get("property", ""), placeholder="plan"))
    fields.append(_operator_field(kind, v.get("operator", "")))
    numeric = kind in ("event_count", "recency", "monetary")
    hint = "2 · between: 2, 5 · one of: 1, 2" if numeric else 'pro · 42 · true · one of: a, b · "42" as text'
    label = "Days since last" if kind == "recency" else "Value"
    fields.append(RowField("value", label, "text", v.get("value", ""), placeholder=hint, wide=not numeric))
    if kind in ("event_count", "monetary"):
        fields.append(window)
    return fields


def prepare(root: Node, segments: list[tuple[int, str]]) -> Node:
    """Attach each condition row's fields, for the templates (which cannot call functions)."""
    if root.kind == "condition":
        root.fields = row_fields(root, segments)
    for child in root.children:
        prepare(child, segments)
    return root


def definition_json(definition: dict[str, Any] | None) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) if definition else ""
