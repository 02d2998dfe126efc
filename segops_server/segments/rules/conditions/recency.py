"""recency: days since the user last did an event type (never done is infinitely long ago)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.aggregated import AggregateType
from segops_server.segments.rules.conditions.numbers import compare
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import days, event_type, numeric_comparison

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Group
    from segops_server.segments.rules.reference import UserFacts


class Recency(AggregateType):
    name = "recency"
    label = "Recency — days since last done"
    required = ("event_type", "operator", "window_days")
    default_operator = "lt"
    form_names = ("event_type", "operator", "value")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "event_type": event_type(fields["event_type"], f"{path}.event_type"),
            **numeric_comparison(fields, path, target="window_days", one=days, windowed=False),
        }

    def absent(self, condition: dict[str, Any]) -> bool:
        return compare(math.inf, condition["operator"], condition["window_days"])

    def time_windows(self, condition: dict[str, Any]) -> list[tuple[str, str, float]]:
        # Days since the last event grow with time: each compared number is passed once.
        value = condition["window_days"]
        numbers = value if isinstance(value, list) else [value]
        return [("last", str(condition["event_type"]), float(d)) for d in numbers]

    def predicate(self, compiler: Compiler, condition: dict[str, Any], op: str, group: Group) -> Sql:
        last = compiler.aggregate(group, Sql("MAX(occurred_at)"), None)
        return _since(compiler, last, op, condition["window_days"])

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        since = user.days_since(user.of_type(condition["event_type"]))
        return compare(since, condition["operator"], condition["window_days"])

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        of_type = [e for e in events if e.event_type == condition.get("event_type")]
        return round((now - of_type[-1].occurred_at).total_seconds() / 86400, 2) if of_type else None

    # The form calls the compared number "Days since last": the row's value box holds window_days.

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        return [
            form.event_type_field(values),
            form.operator_field(self, values.get("operator", "")),
            form.value_field(values, numeric=True, label="Days since last"),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        operator = values.get("operator", "")
        return {
            "event_type": values.get("event_type", ""),
            "operator": operator,
            "window_days": form.parse_value(values.get("value", ""), operator, form.parse_number),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "event_type": str(condition.get("event_type") or ""),
            "operator": str(condition.get("operator") or ""),
            "value": form.form_text(condition.get("window_days"), scalar=False),
        }

    def form_message(self, message: str) -> str:
        return message.replace(".window_days:", ".days:")


def _since(compiler: Compiler, last: Sql, op: str, days: Any) -> Sql:
    """days since `last` op days, as `last` against now - days (exact, no arithmetic on rows)."""

    def ago(days: int) -> Sql:
        return compiler.time(compiler.now - timedelta(days=days))

    if op == "between":
        inner = sql("{l} BETWEEN {a} AND {b}", l=last, a=ago(days[1]), b=ago(days[0]))
    elif op == "in":
        times = [compiler.time(compiler.now - timedelta(days=d)).params[0] for d in days]
        inner = compiler.one_of(last, times, "timestamptz")
    else:
        # More days since means an earlier last time: the comparison flips.
        flipped = {"eq": "=", "gt": "<", "gte": "<=", "lt": ">", "lte": ">="}[op]
        inner = sql("{l} {o} {v}", l=last, o=flipped, v=ago(days))
    return sql("({i})", i=inner)
