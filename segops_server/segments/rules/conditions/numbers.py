"""Numbers as the rule language means them: exact fractions, compared by the positive operator.

The reference evaluator's arithmetic (the SQL must agree with it to the last bit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from segops_server.segments.rules.conditions.values import positive

# A plain decimal number: optional minus, digits, optional fraction. "1e3", " 1", "1." are text.
PLAIN_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def exact(value: Any) -> Fraction | None:
    """A number as an exact fraction, as PostgreSQL's numeric reads it from JSON text.

    JSON numbers count; so do strings that are plain decimals ("12.5", "-3", "007").
    Booleans, null, other strings, lists and objects are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        # JSON carries the shortest repr ("0.1"), which is what the database reads back.
        return Fraction(Decimal(repr(value))) if math.isfinite(value) else None
    if isinstance(value, str) and PLAIN_DECIMAL_RE.fullmatch(value):
        return Fraction(Decimal(value))
    return None


def aggregate(metric: str, raw: Iterable[Any]) -> Fraction | None:
    """sum over no numbers is 0; avg and max over no numbers have no value (None)."""
    numbers = [n for n in (exact(v) for v in raw) if n is not None]
    if metric == "sum":
        return sum(numbers, Fraction(0))
    if not numbers:
        return None
    if metric == "avg":
        return sum(numbers, Fraction(0)) / len(numbers)
    return max(numbers)


def compare(subject: Fraction | float | None, operator: str, value: Any) -> bool:
    """A number (or no value: None, always false before negation) against the condition's value."""
    op, negate = positive(operator)
    return compare_positive(subject, op, value) != negate


def compare_positive(subject: Fraction | float | None, op: str, value: Any) -> bool:
    if subject is None:
        return False
    if op == "between":
        return as_number(value[0]) <= subject <= as_number(value[1])
    if op == "in":
        return any(subject == as_number(v) for v in value)
    target = as_number(value)
    return {
        "eq": subject == target,
        "gt": subject > target,
        "gte": subject >= target,
        "lt": subject < target,
        "lte": subject <= target,
    }[op]


def as_number(value: Any) -> Fraction:
    number = exact(value)
    if number is None:
        raise TypeError(f"not a number: {value!r}")
    return number
