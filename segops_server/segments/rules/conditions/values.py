"""The rule language's vocabulary (operators, limits) and the checks of single values.

Shared by the condition types: each check raises DefinitionError naming the position (`where`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from segops_server.ingestion.validation import EVENT_TYPE_RE, MAX_EVENT_TYPE_LENGTH
from segops_server.segments.rules.conditions.base import DefinitionError
from segops_server.segments.rules.regex import RegexError, regex_compile

MAX_WINDOW_DAYS = 36_500
MAX_LIST_ITEMS = 1_000
MAX_STRING_LENGTH = 1_000
MAX_SEQUENCE_STEPS = 10
# Beyond this, SQLite's integers overflow and doubles stop being exact.
MAX_ABS_NUMBER = 10**15
PROPERTY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,99}")

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


def positive(operator: str) -> tuple[str, bool]:
    """(the positive operator, whether to negate it): `neq` is (`eq`, True)."""
    if operator in NEGATIONS:
        return NEGATIONS[operator], True
    return operator, False


def numeric_comparison(
    fields: dict[str, Any], path: str, *, target: str, one: Callable[[Any, str], Any], windowed: bool
) -> dict[str, Any]:
    """A number compared with `target` (value, or window_days), then the optional window."""
    operator = fields["operator"]
    if operator not in NUMERIC_OPERATORS:
        unknown_or_misfit(operator, f"{path}.operator", "a numeric value")
    where = f"{path}.{target}"
    result: dict[str, Any] = {"operator": operator, target: shaped(operator, fields[target], where, one)}
    if windowed:
        result["window_days"] = optional_days(fields["window_days"], f"{path}.window_days")
    return result


def shaped(operator: str, value: Any, where: str, one: Callable[[Any, str], Any]) -> Any:
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


def property_comparison(fields: dict[str, Any], path: str) -> dict[str, Any]:
    """A JSON property against an operator of any family (numeric, text, valueless)."""
    operator, value = fields["operator"], fields["value"]
    if operator not in PROPERTY_OPERATORS:
        unknown_or_misfit(operator, f"{path}.operator", "a property")
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
        text = text_value(value, where)
        if operator == "matches_regex":
            try:
                regex_compile(text)
            except RegexError as exc:
                raise DefinitionError(f"{where}: {exc}") from None
        return {"operator": operator, "value": text}
    numeric_only = operator in ORDER_OPERATORS or operator in RANGE_OPERATORS
    return {
        "operator": operator,
        "value": shaped(operator, value, where, number if numeric_only else scalar),
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


def unknown_or_misfit(operator: Any, where: str, what: str) -> None:
    if isinstance(operator, str) and operator in PROPERTY_OPERATORS:
        raise DefinitionError(f"{where}: {operator!r} does not apply to {what}")
    raise DefinitionError(f"{where}: unknown operator {operator!r}")


def choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise DefinitionError(f"{where}: must be one of {', '.join(choices)}")
    return str(value)


def event_type(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_EVENT_TYPE_LENGTH or not EVENT_TYPE_RE.fullmatch(value):
        raise DefinitionError(f"{where}: must be an event type in snake_case (e.g. order_placed)")
    return value


def property_name(value: Any, where: str) -> str:
    # Top-level payload keys only, from a safe character set (they are still passed as parameters).
    if not isinstance(value, str) or not PROPERTY_RE.fullmatch(value):
        raise DefinitionError(f"{where}: must be a property name of letters, digits, _ and - (at most 100)")
    return value


def number(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DefinitionError(f"{where}: must be a number")
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise DefinitionError(f"{where}: must be a finite number of at most {MAX_ABS_NUMBER:.0e} in size")
    checked: int | float = value
    return checked


def whole(value: Any, where: str, *, minimum: int, maximum: int = MAX_ABS_NUMBER) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise DefinitionError(f"{where}: must be a whole number from {minimum} to {maximum}")
    checked: int = value
    return checked


def days(value: Any, where: str) -> int:
    return whole(value, where, minimum=0, maximum=MAX_WINDOW_DAYS)


def optional_days(value: Any, where: str) -> int | None:
    return None if value is None else days(value, where)


def text_value(value: Any, where: str) -> str:
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


def scalar(value: Any, where: str) -> str | int | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return text_value(value, where)
    if isinstance(value, int | float):
        return number(value, where)
    raise DefinitionError(f"{where}: must be a string, a number or a boolean")
