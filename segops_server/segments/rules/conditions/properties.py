"""What the condition types on one JSON property share (an event's payload, a user's traits).

The property is compared by any operator: numbers numerically (JSON numbers and plain-decimal
strings), text operators on strings only, booleans with booleans; a missing property makes
every positive operator false, and each negative operator is exactly NOT its positive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.base import ConditionType, DefinitionError
from segops_server.segments.rules.conditions.numbers import as_number, compare_positive, exact
from segops_server.segments.rules.conditions.sqltext import Sql, joined, sql
from segops_server.segments.rules.conditions.values import PROPERTY_OPERATORS, TEXT_OPERATORS, positive
from segops_server.segments.rules.regex import regex_search

if TYPE_CHECKING:
    from segops_server.segments.rules.compiler import Compiler

MISSING = object()  # a property that is not there at all (unlike JSON null)


class PropertyType(ConditionType):
    operators = PROPERTY_OPERATORS
    default_operator = "eq"

    def value_from_form(self, values: dict[str, str]) -> dict[str, Any]:
        """The row's operator and, when it takes one, its value (text operators take text as is)."""
        operator = values.get("operator", "")
        parse = (lambda text: text) if operator in TEXT_OPERATORS else form.parse_scalar
        value = form.parse_value(values.get("value", ""), operator, parse)
        return {"operator": operator} if value is None else {"operator": operator, "value": value}

    def value_to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        scalar = condition.get("operator") not in TEXT_OPERATORS
        return {
            "operator": str(condition.get("operator") or ""),
            "value": form.form_text(condition.get("value"), scalar=scalar),
        }


# ---- the meaning, in plain Python


def property_matches(found: Any, condition: dict[str, Any]) -> bool:
    """A property (MISSING if absent) against the condition's operator and value."""
    op, negate = positive(condition["operator"])
    return _matches_positive(found, op, condition.get("value")) != negate


def _matches_positive(found: Any, op: str, value: Any) -> bool:
    if op == "is_set":
        return found is not MISSING and found is not None
    if op == "is_true":
        return found is True
    if op == "is_false":
        return found is False
    if op in ("eq", "in"):
        return any(_equals(found, v) for v in (value if op == "in" else [value]))
    if op in ("gt", "gte", "lt", "lte", "between"):
        number = None if found is MISSING else exact(found)
        return compare_positive(number, op, value)
    if not isinstance(found, str):
        return False  # text operators apply to strings only
    if op == "contains":
        return value in found
    if op == "starts_with":
        return bool(found.startswith(value))
    if op == "ends_with":
        return bool(found.endswith(value))
    if op == "matches_regex":
        return regex_search(value, found)
    raise ValueError(f"unknown operator {op!r}")


def _equals(found: Any, value: Any) -> bool:
    """Booleans equal JSON booleans; numbers compare numerically; strings equal strings only."""
    if found is MISSING:
        return False
    if isinstance(value, bool):
        return found is value
    if isinstance(value, str):
        return isinstance(found, str) and found == value
    number = exact(found)
    return number is not None and number == as_number(value)


# ---- SQL: `base` is the JSON column (an alias's payload or properties)


def property_sql(compiler: Compiler, base: str, condition: dict[str, Any]) -> Sql:
    op, negate = positive(condition["operator"])
    name, value = condition["property"], condition.get("value")
    inner = _positive_sql(compiler, base, name, op, value)
    # Positive first, never NULL (a missing property is false), then negated if asked.
    positive_sql = sql("COALESCE({i}, FALSE)", i=inner)
    return sql("NOT {p}", p=positive_sql) if negate else positive_sql


def _positive_sql(compiler: Compiler, base: str, name: str, op: str, value: Any) -> Sql:
    if op == "is_set":
        return compiler.is_set(base, name)
    if op in ("is_true", "is_false"):
        return compiler.is_boolean(base, name, op == "is_true")
    if op == "eq":
        return sql("({e})", e=_equals_sql(compiler, base, name, value))
    if op == "in":
        return sql("({e})", e=joined(" OR ", _equals_any_sql(compiler, base, name, value)))
    if op in ("gt", "gte", "lt", "lte", "between"):
        return compiler.compare(compiler.number_of(base, name), op, value)
    text = compiler.text_of(base, name)
    if op == "contains":
        return compiler.contains(text, compiler.text(value))
    if op == "starts_with":
        return sql("substr({t}, 1, length({v})) = {v}", t=text, v=compiler.text(value))
    if op == "ends_with":
        return sql(
            "(length({t}) >= length({v}) AND substr({t}, length({t}) - length({v}) + 1) = {v})",
            t=text,
            v=compiler.text(value),
        )
    if op == "matches_regex":
        return compiler.regex_match(text, compiler.text(value))
    raise DefinitionError(f"operator: unknown operator {op!r}")


def _equals_sql(compiler: Compiler, base: str, name: str, value: Any) -> Sql:
    """Booleans equal JSON booleans; numbers compare numerically; strings equal strings only."""
    if isinstance(value, bool):
        return compiler.is_boolean(base, name, value)
    if isinstance(value, str):
        return sql("{t} = {v}", t=compiler.text_of(base, name), v=compiler.text(value))
    return sql("{n} = {v}", n=compiler.number_of(base, name), v=compiler.number(value))


def _equals_any_sql(compiler: Compiler, base: str, name: str, values: list[Any]) -> list[Sql]:
    """`equals` one of the values: the strings as one list, the numbers as another."""
    strings = [v for v in values if isinstance(v, str)]
    numbers = [v for v in values if not isinstance(v, str | bool)]
    booleans = dict.fromkeys(v for v in values if isinstance(v, bool))
    pieces = [_equals_sql(compiler, base, name, v) for v in booleans]
    if strings:
        pieces.append(compiler.one_of(compiler.text_of(base, name), strings, "text"))
    if numbers:
        pieces.append(compiler.one_of(compiler.number_of(base, name), numbers, "numeric"))
    return pieces
