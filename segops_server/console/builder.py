"""The rule builder's state: a tree of groups and condition rows, read from the posted form,
turned into the segment DSL (segments/rules/dsl.py), and back again to edit a saved definition.

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

from segops_server.segments.rules.conditions import REGISTRY, condition_type
from segops_server.segments.rules.conditions.base import ConditionType
from segops_server.segments.rules.conditions.form import RowField
from segops_server.segments.rules.conditions.form import parse_number as _number
from segops_server.segments.rules.conditions.form import parse_scalar as _scalar
from segops_server.segments.rules.dsl import MAX_CONDITIONS, MAX_DEPTH

# Each row's inputs and the text parsing come with the condition types; the parsers keep their
# names here for the builder's callers.
__all__ = [
    "CONDITION_TYPES",
    "DEFAULT_OPERATOR",
    "FIELD_NAMES",
    "TYPE_NAMES",
    "Node",
    "RowField",
    "_number",
    "_scalar",
    "apply_action",
    "condition_dsl",
    "definition_json",
    "new_condition",
    "new_tree",
    "place_error",
    "prepare",
    "row_fields",
    "tree_from_definition",
    "tree_from_post",
    "tree_to_definition",
]

ROOT = "r"
PATH_RE = re.compile(r"r(?:\.\d{1,3})*")
MAX_NODES = MAX_CONDITIONS + 1  # the builder refuses to grow past what the DSL accepts

CONDITION_TYPES = [(kind.name, kind.label) for kind in REGISTRY.values()]
TYPE_NAMES = [name for name, _ in CONDITION_TYPES]
DEFAULT_OPERATOR = {kind.name: kind.default_operator for kind in REGISTRY.values()}
# Every input any row can post: a row of one type keeps the others' values blank.
FIELD_NAMES = ("type", *dict.fromkeys(name for kind in REGISTRY.values() for name in kind.form_names))


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

    @property
    def condition_type(self) -> ConditionType:
        return REGISTRY[self.type]


def new_condition(kind: str = TYPE_NAMES[0]) -> Node:
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


def condition_dsl(node: Node) -> dict[str, Any]:
    return {"type": node.type, **node.condition_type.from_form(node.values)}


def tree_to_definition(node: Node) -> dict[str, Any]:
    if node.kind == "condition":
        return condition_dsl(node)
    return {"logic": node.logic, "conditions": [tree_to_definition(child) for child in node.children]}


# From a saved definition back to the tree -----------------------------------------------------


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
        values = dict.fromkeys(FIELD_NAMES, "")
        values["type"] = item["type"]
        kind = condition_type(item["type"])
        if kind is not None:
            values.update(kind.to_form(item))
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
    if node.kind == "condition":
        message = node.condition_type.form_message(message)
    node.error = message


# What a row shows, by condition type ----------------------------------------------------------


def row_fields(node: Node, segments: list[tuple[int, str]]) -> list[RowField]:
    """The inputs of one condition row, in order; they follow the chosen condition type."""
    choice = RowField("type", "Condition", "select", node.type, CONDITION_TYPES, wide=True, rerender=True)
    return [choice, *node.condition_type.form_fields(node.values, segments)]


def prepare(root: Node, segments: list[tuple[int, str]]) -> Node:
    """Attach each condition row's fields, for the templates (which cannot call functions)."""
    if root.kind == "condition":
        root.fields = row_fields(root, segments)
    for child in root.children:
        prepare(child, segments)
    return root


def definition_json(definition: dict[str, Any] | None) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) if definition else ""
