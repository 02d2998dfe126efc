"""event_count: how many times the user did an event type (in the last N days, or ever)."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.aggregated import AggregateType, in_window
from segops_server.segments.rules.conditions.numbers import compare
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import event_type, numeric_comparison, whole

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Group
    from segops_server.segments.rules.reference import UserFacts


class EventCount(AggregateType):
    name = "event_count"
    label = "Event count — how many times"
    required = ("event_type", "operator", "value")
    optional = {"window_days": None}
    default_operator = "gte"
    form_names = ("event_type", "operator", "value", "window_days")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "event_type": event_type(fields["event_type"], f"{path}.event_type"),
            **numeric_comparison(
                fields, path, target="value", one=lambda v, at: whole(v, at, minimum=0), windowed=True
            ),
        }

    def absent(self, condition: dict[str, Any]) -> bool:
        return compare(Fraction(0), condition["operator"], condition["value"])

    def predicate(self, compiler: Compiler, condition: dict[str, Any], op: str, group: Group) -> Sql:
        start = compiler.window_start(condition["window_days"])
        count = (
            Sql("COUNT(*)")
            if start is None
            else sql("SUM(CASE WHEN occurred_at > {start} THEN 1 ELSE 0 END)", start=compiler.time(start))
        )
        return compiler.compare(compiler.aggregate(group, count, start), op, condition["value"])

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        events = user.in_window(user.of_type(condition["event_type"]), condition["window_days"])
        return compare(Fraction(len(events)), condition["operator"], condition["value"])

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        return len(in_window(events, condition, now))

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        return [
            form.event_type_field(values),
            form.operator_field(self, values.get("operator", "")),
            form.value_field(values, numeric=True),
            form.window_field(values),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        operator = values.get("operator", "")
        return {
            "event_type": values.get("event_type", ""),
            "operator": operator,
            "value": form.parse_value(values.get("value", ""), operator, form.parse_number),
            "window_days": form.parse_optional_whole(values.get("window_days", "")),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "event_type": str(condition.get("event_type") or ""),
            "operator": str(condition.get("operator") or ""),
            "value": form.form_text(condition.get("value"), scalar=False),
            "window_days": form.form_text(condition.get("window_days"), scalar=False),
        }
