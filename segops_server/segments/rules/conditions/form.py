"""The rule builder's vocabulary for a condition row: its inputs, and text to values and back.

Plain data, no Django: a condition type describes its row with these, the console renders it
(console/builder.py), so the console depends on the rule language and never the other way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions.values import (
    LIST_OPERATORS,
    RANGE_OPERATORS,
    VALUELESS_OPERATORS,
)

if TYPE_CHECKING:
    from segops_server.segments.rules.conditions.base import ConditionType

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
NUMERIC_HINT = "2 · between: 2, 5 · one of: 1, 2"
PROPERTY_HINT = 'pro · 42 · true · one of: a, b · "42" as text'


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


# ---- the row's inputs


def operator_field(condition_type: ConditionType, value: str) -> RowField:
    choices = condition_type.operators
    if value not in choices:
        value = condition_type.default_operator
    # No redraw on a new operator: a redraw racing the next keystroke would lose it. The value
    # box is always there and CSS hides it for operators that take none (is_set, is_true...).
    return RowField("operator", "Operator", "select", value, [(op, OPERATOR_LABELS[op]) for op in choices])


def event_type_field(values: dict[str, str]) -> RowField:
    return RowField(
        "event_type", "Event type", "text", values.get("event_type", ""), placeholder="order_placed"
    )


def property_field(values: dict[str, str], placeholder: str) -> RowField:
    return RowField("property", "Property", "text", values.get("property", ""), placeholder=placeholder)


def value_field(values: dict[str, str], *, numeric: bool, label: str = "Value") -> RowField:
    hint = NUMERIC_HINT if numeric else PROPERTY_HINT
    return RowField("value", label, "text", values.get("value", ""), placeholder=hint, wide=not numeric)


def window_field(values: dict[str, str], label: str = "In the last (days)") -> RowField:
    return RowField("window_days", label, "text", values.get("window_days", ""), placeholder="any time")


# ---- text from the form to values


def parse_number(text: str) -> Any:
    """A number if the text is one; otherwise the text, so the DSL names the error in its words."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_scalar(text: str) -> Any:
    """true/false, a number, or text; "quoted" text stays text even when it looks like a number."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    number = parse_number(text)
    return number if not isinstance(number, str) else text


def parse_optional_whole(text: str) -> Any:
    return None if text == "" else parse_number(text)


def parse_value(text: str, operator: str, parse: Callable[[str], Any]) -> Any:
    """The value box by operator: nothing, a comma-separated list, or one value."""
    if operator in VALUELESS_OPERATORS:
        return None
    if operator in RANGE_OPERATORS or operator in LIST_OPERATORS:
        return [parse(item.strip()) for item in text.split(",") if item.strip()]
    return None if text == "" else parse(text)


# ---- values back to the form's text


def form_text(value: Any, *, scalar: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(form_text(item, scalar=scalar) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and scalar and parse_scalar(value) != value:
        return f'"{value}"'  # text that would read back as a number or a boolean
    return str(value)
