"""The segment rule DSL: operators, limits, and validation into a normalised definition.

A definition is user input that becomes SQL, so it is checked field by field here and every
error names its position (`conditions[1].conditions[0].operator: ...`). The compiler and the
reference evaluator only ever see what this module returns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from segops_server.ingestion.validation import EVENT_TYPE_RE, MAX_EVENT_TYPE_LENGTH
from segops_server.segments.regex import RegexError, regex_compile

LookupDefinition = Callable[[int], "dict[str, Any] | None"]

MAX_CONDITIONS = 50  # in one definition, counting groups and everything inside them
MAX_DEPTH = 5  # groups nest at most this deep; the definition itself is level 1
MAX_EXPANDED_CONDITIONS = 200  # with referenced segments inlined (their SQL is inlined too)
MAX_WINDOW_DAYS = 36_500
MAX_LIST_ITEMS = 1_000
MAX_STRING_LENGTH = 1_000
MAX_SEQUENCE_STEPS = 10
# Beyond this, SQLite's integers overflow and doubles stop being exact.
MAX_ABS_NUMBER = 10**15
PROPERTY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,99}")

LOGICS = ("AND", "OR")
NUMERIC_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "not_between", "in", "not_in")
TEXT_OPERATORS = ("contains", "does_not_contain", "starts_with", "ends_with", "matches_regex")
VALUELESS_OPERATORS = ("is_set", "is_not_set", "is_true", "is_false")
PROPERTY_OPERATORS = NUMERIC_OPERATORS + TEXT_OPERATORS + VALUELESS_OPERATORS
# Each negative operator is exactly NOT its positive: a missing property makes `neq` true.
NEGATIONS = {
    "neq": "eq",
    "not_between": "between",
    "not_in": "in",
    "does_not_contain": "contains",
    "is_not_set": "is_set",
}
ORDER_OPERATORS = ("gt", "gte", "lt", "lte")
RANGE_OPERATORS = ("between", "not_between")
LIST_OPERATORS = ("in", "not_in")
EQUALITY_OPERATORS = ("eq", "neq")
METRICS = ("sum", "avg", "max")
MEMBERSHIP_OPERATORS = ("in", "not_in")

# Per condition type: required fields, then optional ones with their defaults.
_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "event_count": (("event_type", "operator", "value"), {"window_days": None}),
    "recency": (("event_type", "operator", "window_days"), {}),
    "monetary": (("event_type", "property", "metric", "operator", "value"), {"window_days": None}),
    "event_property": (("event_type", "property", "operator"), {"value": None}),
    "user_property": (("property", "operator"), {"value": None}),
    "event_sequence": (("events",), {"window_days": None, "strict": False}),
    "segment_membership": (("segment_id", "operator"), {}),
}
CONDITION_TYPES = tuple(_FIELDS)


class DefinitionError(Exception):
    """A definition is malformed; the message names the position and the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _MissingSegment(Exception):
    pass


class _Cycle(Exception):
    pass


def positive(operator: str) -> tuple[str, bool]:
    """(the positive operator, whether to negate it): `neq` is (`eq`, True)."""
    if operator in NEGATIONS:
        return NEGATIONS[operator], True
    return operator, False


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
    if kind not in _FIELDS:
        raise DefinitionError(f"{path}.type: unknown condition type {kind!r} (one of: {', '.join(_FIELDS)})")
    required, optional = _FIELDS[kind]
    for key in condition:
        if key != "type" and key not in required and key not in optional:
            raise DefinitionError(f"{path}.{key}: unknown field for a {kind} condition")
    for key in required:
        if condition.get(key) is None:
            raise DefinitionError(f"{path}.{key}: required")
    fields = {**optional, **{k: v for k, v in condition.items() if v is not None}}
    result: dict[str, Any] = {"type": kind}
    if kind == "event_sequence":
        return _sequence(fields, path, result)
    if kind == "segment_membership":
        result["segment_id"] = _whole(fields["segment_id"], f"{path}.segment_id", minimum=1)
        result["operator"] = _choice(fields["operator"], MEMBERSHIP_OPERATORS, f"{path}.operator")
        return result
    if "event_type" in required:
        result["event_type"] = _event_type(fields["event_type"], f"{path}.event_type")
    if "property" in required:
        result["property"] = _property(fields["property"], f"{path}.property")
    if kind == "monetary":
        result["metric"] = _choice(fields["metric"], METRICS, f"{path}.metric")
    if kind in ("event_property", "user_property"):
        result.update(_property_comparison(fields, path))
    else:
        result.update(_numeric_comparison(kind, fields, path))
    return result


def _sequence(fields: dict[str, Any], path: str, result: dict[str, Any]) -> dict[str, Any]:
    events = fields["events"]
    if not isinstance(events, list) or not 2 <= len(events) <= MAX_SEQUENCE_STEPS:
        raise DefinitionError(
            f"{path}.events: must be a list of 2 to {MAX_SEQUENCE_STEPS} event types, in order"
        )
    result["events"] = [_event_type(e, f"{path}.events[{i}]") for i, e in enumerate(events)]
    window = fields["window_days"]
    result["window_days"] = None if window is None else _days(window, f"{path}.window_days")
    if not isinstance(fields["strict"], bool):
        raise DefinitionError(f"{path}.strict: must be true or false")
    result["strict"] = fields["strict"]
    return result


def _numeric_comparison(kind: str, fields: dict[str, Any], path: str) -> dict[str, Any]:
    """event_count, recency and monetary: a number compared with `value` (recency: window_days)."""
    operator = fields["operator"]
    if operator not in NUMERIC_OPERATORS:
        _unknown_or_misfit(operator, f"{path}.operator", "a numeric value")
    target = "window_days" if kind == "recency" else "value"
    where = f"{path}.{target}"

    def one(value: Any, at: str) -> int | float:
        if kind == "event_count":
            return _whole(value, at, minimum=0)
        if kind == "recency":
            return _days(value, at)
        return _number(value, at)

    result: dict[str, Any] = {"operator": operator, target: _shaped(operator, fields[target], where, one)}
    if kind != "recency":
        window = fields["window_days"]
        result["window_days"] = None if window is None else _days(window, f"{path}.window_days")
    return result


def _shaped(operator: str, value: Any, where: str, one: Callable[[Any, str], Any]) -> Any:
    """The value's shape by operator: a scalar, [low, high], or a non-empty list."""
    if operator in RANGE_OPERATORS:
        if not isinstance(value, list) or len(value) != 2:
            raise DefinitionError(f"{where}: {operator!r} takes [low, high]")
        low, high = one(value[0], f"{where}[0]"), one(value[1], f"{where}[1]")
        if low > high:
            raise DefinitionError(f"{where}: low must not be greater than high")
        return [low, high]
    if operator in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            raise DefinitionError(f"{where}: {operator!r} takes a non-empty list")
        if len(value) > MAX_LIST_ITEMS:
            raise DefinitionError(f"{where}: at most {MAX_LIST_ITEMS} items")
        return [one(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, list):
        raise DefinitionError(f"{where}: {operator!r} takes one value, not a list")
    return one(value, where)


def _property_comparison(fields: dict[str, Any], path: str) -> dict[str, Any]:
    operator, value = fields["operator"], fields["value"]
    if operator not in PROPERTY_OPERATORS:
        _unknown_or_misfit(operator, f"{path}.operator", "a property")
    if operator in VALUELESS_OPERATORS:
        if value is not None:
            raise DefinitionError(f"{path}.value: {operator!r} takes no value")
        return {"operator": operator}
    if value is None:
        raise DefinitionError(f"{path}.value: required")
    where = f"{path}.value"
    misfit = _misfit(operator, value)
    if misfit:
        raise DefinitionError(f"{path}.operator: {operator!r} does not apply to {misfit}")
    if operator in TEXT_OPERATORS:
        text = _text(value, where)
        if operator == "matches_regex":
            try:
                regex_compile(text)
            except RegexError as exc:
                raise DefinitionError(f"{where}: {exc}") from None
        return {"operator": operator, "value": text}
    numeric_only = operator in ORDER_OPERATORS or operator in RANGE_OPERATORS
    return {
        "operator": operator,
        "value": _shaped(operator, value, where, _number if numeric_only else _scalar),
    }


def _misfit(operator: str, value: Any) -> str | None:
    """Which kind of value the operator cannot take, if this is one ('a text value')."""
    if isinstance(value, list):
        return None if operator in RANGE_OPERATORS or operator in LIST_OPERATORS else "a list value"
    if isinstance(value, bool):
        return None if operator in EQUALITY_OPERATORS else "a boolean value"
    if isinstance(value, str):
        return "a text value" if operator in ORDER_OPERATORS or operator in RANGE_OPERATORS else None
    if isinstance(value, int | float):
        return "a numeric value" if operator in TEXT_OPERATORS else None
    return None


def _unknown_or_misfit(operator: Any, where: str, what: str) -> None:
    if isinstance(operator, str) and operator in PROPERTY_OPERATORS:
        raise DefinitionError(f"{where}: {operator!r} does not apply to {what}")
    raise DefinitionError(f"{where}: unknown operator {operator!r}")


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise DefinitionError(f"{where}: must be one of {', '.join(choices)}")
    return str(value)


def _event_type(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_EVENT_TYPE_LENGTH or not EVENT_TYPE_RE.fullmatch(value):
        raise DefinitionError(f"{where}: must be an event type in snake_case (e.g. order_placed)")
    return value


def _property(value: Any, where: str) -> str:
    # Top-level payload keys only, from a safe character set (they are still passed as parameters).
    if not isinstance(value, str) or not PROPERTY_RE.fullmatch(value):
        raise DefinitionError(f"{where}: must be a property name of letters, digits, _ and - (at most 100)")
    return value


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DefinitionError(f"{where}: must be a number")
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise DefinitionError(f"{where}: must be a finite number of at most {MAX_ABS_NUMBER:.0e} in size")
    return value


def _whole(value: Any, where: str, *, minimum: int, maximum: int = MAX_ABS_NUMBER) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise DefinitionError(f"{where}: must be a whole number from {minimum} to {maximum}")
    return value


def _days(value: Any, where: str) -> int:
    return _whole(value, where, minimum=0, maximum=MAX_WINDOW_DAYS)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: must be a string")
    if len(value) > MAX_STRING_LENGTH:
        raise DefinitionError(f"{where}: at most {MAX_STRING_LENGTH} characters")
    if "\x00" in value:  # PostgreSQL cannot hold NUL in text
        raise DefinitionError(f"{where}: must not contain NUL characters")
    try:
        value.encode("utf-8")  # JSON's "\ud800" decodes to a lone surrogate no database can hold
    except UnicodeEncodeError:
        raise DefinitionError(f"{where}: must be valid Unicode text (no lone surrogate)") from None
    return value


def _scalar(value: Any, where: str) -> str | int | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value, where)
    if isinstance(value, int | float):
        return _number(value, where)
    raise DefinitionError(f"{where}: must be a string, a number or a boolean")


def references(definition: dict[str, Any]) -> list[tuple[str, int]]:
    """(position, segment_id) of every segment_membership condition in a definition."""
    found: list[tuple[str, int]] = []

    def walk(group: Any, path: str) -> None:
        conditions = group.get("conditions") if isinstance(group, dict) else None
        for index, item in enumerate(conditions if isinstance(conditions, list) else []):
            where = f"{_at(path, 'conditions')}[{index}]"
            if not isinstance(item, dict):
                continue
            if item.get("type") == "segment_membership" and isinstance(item.get("segment_id"), int):
                found.append((where, item["segment_id"]))
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
