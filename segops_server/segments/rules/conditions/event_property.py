"""event_property: a property of the user's most recent event of a type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.properties import (
    MISSING,
    PropertyType,
    property_matches,
    property_sql,
)
from segops_server.segments.rules.conditions.sqltext import Sql
from segops_server.segments.rules.conditions.values import event_type, property_comparison, property_name

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Scope
    from segops_server.segments.rules.reference import UserFacts


class EventProperty(PropertyType):
    name = "event_property"
    label = "Event property — on the latest such event"
    required = ("event_type", "property", "operator")
    optional = {"value": None}
    form_names = ("event_type", "property", "operator", "value")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "event_type": event_type(fields["event_type"], f"{path}.event_type"),
            "property": property_name(fields["property"], f"{path}.property"),
            **property_comparison(fields, path),
        }

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        latest = compiler.latest_of(scope, condition["event_type"])
        return property_sql(compiler, f"{latest}.payload", condition)

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        return frozenset([str(condition["event_type"])])  # only its type's payloads are read

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        of_type = user.of_type(condition["event_type"])
        latest = of_type[-1].payload.get(condition["property"], MISSING) if of_type else MISSING
        return property_matches(latest, condition)

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        of_type = [e for e in events if e.event_type == condition.get("event_type")]
        return of_type[-1].payload.get(condition["property"]) if of_type else None

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        return [
            form.event_type_field(values),
            form.property_field(values, "plan"),
            form.operator_field(self, values.get("operator", "")),
            form.value_field(values, numeric=False),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        return {
            "event_type": values.get("event_type", ""),
            "property": values.get("property", ""),
            **self.value_from_form(values),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "event_type": str(condition.get("event_type") or ""),
            "property": str(condition.get("property") or ""),
            **self.value_to_form(condition),
        }
