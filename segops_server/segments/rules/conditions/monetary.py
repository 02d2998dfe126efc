"""monetary: the sum, average or maximum of a number in the payloads of an event type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.aggregated import AggregateType, in_window
from segops_server.segments.rules.conditions.numbers import aggregate, compare
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import (
    METRICS,
    choice,
    event_type,
    number,
    numeric_comparison,
    property_name,
)

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Group
    from segops_server.segments.rules.reference import UserFacts


class Monetary(AggregateType):
    name = "monetary"
    label = "Monetary — sum / avg / max of a property"
    required = ("event_type", "property", "metric", "operator", "value")
    optional = {"window_days": None}
    default_operator = "gte"
    form_names = ("event_type", "property", "metric", "operator", "value", "window_days")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "event_type": event_type(fields["event_type"], f"{path}.event_type"),
            "property": property_name(fields["property"], f"{path}.property"),
            "metric": choice(fields["metric"], METRICS, f"{path}.metric"),
            **numeric_comparison(fields, path, target="value", one=number, windowed=True),
        }

    def absent(self, condition: dict[str, Any]) -> bool:
        return compare(aggregate(condition["metric"], []), condition["operator"], condition["value"])

    def predicate(self, compiler: Compiler, condition: dict[str, Any], op: str, group: Group) -> Sql:
        start = compiler.window_start(condition["window_days"])
        name = condition["property"]
        within = None if start is None else sql("occurred_at > {start}", start=compiler.time(start))
        metric = condition["metric"]
        if metric == "max":
            value = compiler.number_of("payload", name)
            if within is not None:
                value = sql("CASE WHEN {w} THEN {v} END", w=within, v=value)
            top = compiler.aggregate(group, sql("MAX({v})", v=value), start)
            return sql("({m} IS NOT NULL AND {c})", m=top, c=compiler.compare(top, op, condition["value"]))
        total = compiler.aggregate(group, compiler.number_sum("payload", name, within), start)
        total = sql("COALESCE({t}, 0)", t=total)  # a sum over no numbers is 0
        if metric == "sum":
            return compiler.compare(total, op, condition["value"])
        # avg compared exactly, without dividing: sum op value * count, for a count above zero.
        count = compiler.aggregate(group, compiler.number_count("payload", name, within), start)
        return sql(
            "({n} > 0 AND {c})", n=count, c=compiler.compare(total, op, condition["value"], scale=count)
        )

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        events = user.in_window(user.of_type(condition["event_type"]), condition["window_days"])
        # A missing property is no number, like any other value that is not one.
        found = aggregate(condition["metric"], [e.payload.get(condition["property"]) for e in events])
        return compare(found, condition["operator"], condition["value"])

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        found = (_decimal(e.payload.get(condition["property"])) for e in in_window(events, condition, now))
        numbers = [n for n in found if n is not None]
        if condition["metric"] == "sum":
            return float(sum(numbers, Decimal(0)))
        if not numbers:
            return None
        return float(max(numbers) if condition["metric"] == "max" else sum(numbers) / len(numbers))

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        metrics = [(m, m) for m in METRICS]
        return [
            form.event_type_field(values),
            form.property_field(values, "amount"),
            form.RowField("metric", "Metric", "select", values.get("metric", "") or "sum", metrics),
            form.operator_field(self, values.get("operator", "")),
            form.value_field(values, numeric=True),
            form.window_field(values),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        operator = values.get("operator", "")
        return {
            "event_type": values.get("event_type", ""),
            "property": values.get("property", ""),
            "metric": values.get("metric", ""),
            "operator": operator,
            "value": form.parse_value(values.get("value", ""), operator, form.parse_number),
            "window_days": form.parse_optional_whole(values.get("window_days", "")),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "event_type": str(condition.get("event_type") or ""),
            "property": str(condition.get("property") or ""),
            "metric": str(condition.get("metric") or ""),
            "operator": str(condition.get("operator") or ""),
            "value": form.form_text(condition.get("value"), scalar=False),
            "window_days": form.form_text(condition.get("window_days"), scalar=False),
        }


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        return None
