"""The segment rule DSL: groups, nesting, limits, and validation into a normalised definition.

A definition is user input that becomes SQL, so it is checked field by field and every error
names its position (`conditions[1].conditions[0].operator: ...`). This module checks the groups,
a condition's type and its set of fields; the type's own module (conditions/) checks the values.
The compiler and the reference evaluator only ever see what this module returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segops_server.segments.rules.conditions import CONDITION_TYPES, REGISTRY, condition_type
from segops_server.segments.rules.conditions.base import DefinitionError
from segops_server.segments.rules.conditions.values import (
    EQUALITY_OPERATORS,
    LIST_OPERATORS,
    MAX_ABS_NUMBER,
    MAX_LIST_ITEMS,
    MAX_SEQUENCE_STEPS,
    MAX_STRING_LENGTH,
    MAX_WINDOW_DAYS,
    MEMBERSHIP_OPERATORS,
    METRICS,
    NEGATIONS,
    NUMERIC_OPERATORS,
    ORDER_OPERATORS,
    PROPERTY_OPERATORS,
    RANGE_OPERATORS,
    TEXT_OPERATORS,
    VALUELESS_OPERATORS,
    positive,
)

# The vocabulary lives with the condition types; it is named here too, where callers look for it.
__all__ = [
    "CONDITION_TYPES",
    "EQUALITY_OPERATORS",
    "LIST_OPERATORS",
    "LOGICS",
    "MAX_ABS_NUMBER",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_EXPANDED_CONDITIONS",
    "MAX_LIST_ITEMS",
    "MAX_SEQUENCE_STEPS",
    "MAX_STRING_LENGTH",
    "MAX_WINDOW_DAYS",
    "MEMBERSHIP_OPERATORS",
    "METRICS",
    "NEGATIONS",
    "NUMERIC_OPERATORS",
    "ORDER_OPERATORS",
    "PROPERTY_OPERATORS",
    "RANGE_OPERATORS",
    "TEXT_OPERATORS",
    "VALUELESS_OPERATORS",
    "DefinitionError",
    "LookupDefinition",
    "definition_validate",
    "positive",
    "references",
]

LookupDefinition = Callable[[int], "dict[str, Any] | None"]

MAX_CONDITIONS = 50  # in one definition, counting groups and everything inside them
MAX_DEPTH = 5  # groups nest at most this deep; the definition itself is level 1
MAX_EXPANDED_CONDITIONS = 200  # with referenced segments inlined (their SQL is inlined too)

LOGICS = ("AND", "OR")


class _MissingSegment(Exception):
    pass


class _Cycle(Exception):
    pass


def definition_validate(
    definition: object, *, lookup_definition: LookupDefinition, segment_id: int | None = None
) -> dict[str, Any]:
    """Check a definition and return it normalised (defaults filled, whole numbers as ints).

    `lookup_definition(id)` gives another segment's saved definition in the same tenant, or
    None; `segment_id` is the segment being saved, so a reference back to it is a cycle.
    """
    if not isinstance(definition, dict):
        raise DefinitionError("definition: must be a JSON object with 'logic' and 'conditions'")
    counter = [0]
    normalised = _group(definition, "", depth=1, counter=counter)
    _check_references(normalised, lookup_definition=lookup_definition, segment_id=segment_id)
    return normalised


def _at(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _group(group: dict[str, Any], path: str, *, depth: int, counter: list[int]) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise DefinitionError(f"{path}: groups nest too deep (at most {MAX_DEPTH} levels)")
    for key in group:
        if key not in ("logic", "conditions"):
            raise DefinitionError(f"{_at(path, str(key))}: unknown field (a group has logic and conditions)")
    logic = group.get("logic", "AND")
    if logic not in LOGICS:
        raise DefinitionError(f"{_at(path, 'logic')}: must be 'AND' or 'OR'")
    conditions = group.get("conditions")
    if not isinstance(conditions, list):
        raise DefinitionError(f"{_at(path, 'conditions')}: must be a list of conditions")
    if not conditions:
        raise DefinitionError(f"{_at(path, 'conditions')}: must have at least one condition")
    normalised = []
    for index, item in enumerate(conditions):
        where = f"{_at(path, 'conditions')}[{index}]"
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise DefinitionError(f"{where}: too many conditions (at most {MAX_CONDITIONS} in all)")
        if not isinstance(item, dict):
            raise DefinitionError(f"{where}: must be an object")
        if "type" not in item and "conditions" in item:
            normalised.append(_group(item, where, depth=depth + 1, counter=counter))
        else:
            normalised.append(_condition(item, where))
    return {"logic": logic, "conditions": normalised}


def _condition(condition: dict[str, Any], path: str) -> dict[str, Any]:
    kind = condition.get("type")
    if kind is None:
        raise DefinitionError(f"{path}.type: required (or give 'conditions' for a nested group)")
    found = condition_type(kind)
    if found is None:
        raise DefinitionError(f"{path}.type: unknown condition type {kind!r} (one of: {', '.join(REGISTRY)})")
    required, optional = found.required, found.optional
    for key in condition:
        if key != "type" and key not in required and key not in optional:
            raise DefinitionError(f"{path}.{key}: unknown field for a {kind} condition")
    for key in required:
        if condition.get(key) is None:
            raise DefinitionError(f"{path}.{key}: required")
    fields = {**optional, **{k: v for k, v in condition.items() if v is not None}}
    return {"type": kind, **found.validate(fields, path)}


def references(definition: dict[str, Any]) -> list[tuple[str, int]]:
    """(position, segment_id) of every condition that refers to another segment."""
    found: list[tuple[str, int]] = []

    def walk(group: Any, path: str) -> None:
        conditions = group.get("conditions") if isinstance(group, dict) else None
        for index, item in enumerate(conditions if isinstance(conditions, list) else []):
            where = f"{_at(path, 'conditions')}[{index}]"
            if not isinstance(item, dict):
                continue
            kind = condition_type(item.get("type"))
            referenced = kind.referenced_segment(item) if kind is not None else None
            if referenced is not None:
                found.append((where, referenced))
            elif "type" not in item:
                walk(item, where)

    walk(definition, "")
    return found


def _check_references(
    definition: dict[str, Any], *, lookup_definition: LookupDefinition, segment_id: int | None
) -> None:
    """Every referenced segment exists, no chain of references comes back, and the inlined
    size stays bounded (a reference is compiled inline, so diamonds multiply)."""
    sizes: dict[int, int] = {}

    def expanded(current: int, stack: tuple[int, ...]) -> int:
        if current in sizes:
            return sizes[current]
        saved = lookup_definition(current)
        if saved is None:
            raise _MissingSegment(current)
        total = _leaves(saved)
        for _, child in references(saved):
            if child in stack or child == segment_id:
                raise _Cycle((*stack, child))
            total += expanded(child, (*stack, child))
        sizes[current] = total
        return total

    total = _leaves(definition)
    for where, child in references(definition):
        if child == segment_id:
            raise DefinitionError(
                f"{where}.segment_id: a segment cannot contain itself (cycle {child} → {child})"
            )
        try:
            total += expanded(child, (child,))
        except _MissingSegment as exc:
            missing = exc.args[0]
            detail = (
                ""
                if missing == child
                else f" (segment {child} refers to segment {missing}, which does not exist)"
            )
            raise DefinitionError(f"{where}.segment_id: no such segment{detail}") from None
        except _Cycle as exc:
            chain = (segment_id, *exc.args[0]) if segment_id is not None else exc.args[0]
            path = " → ".join(str(s) for s in chain)
            raise DefinitionError(f"{where}.segment_id: segment {child} leads to a cycle ({path})") from None
        if total > MAX_EXPANDED_CONDITIONS:
            raise DefinitionError(
                f"{where}.segment_id: with referenced segments inlined the definition has more than "
                f"{MAX_EXPANDED_CONDITIONS} conditions"
            )


def _leaves(definition: Any) -> int:
    conditions = definition.get("conditions") if isinstance(definition, dict) else None
    if not isinstance(conditions, list):
        return 0
    count = 0
    for item in conditions:
        if isinstance(item, dict) and "type" not in item:
            count += _leaves(item)
        else:
            count += 1
    return count
