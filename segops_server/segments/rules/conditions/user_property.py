"""user_property: a trait of the user (the properties of their profile)."""

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
from segops_server.segments.rules.conditions.values import property_comparison, property_name

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Scope
    from segops_server.segments.rules.reference import UserFacts


class UserProperty(PropertyType):
    name = "user_property"
    label = "User property — a trait"
    required = ("property", "operator")
    optional = {"value": None}
    form_names = ("property", "operator", "value")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "property": property_name(fields["property"], f"{path}.property"),
            **property_comparison(fields, path),
        }

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        return property_sql(compiler, compiler.traits(scope), condition)

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        # Traits come from identify events only (ingestion/storage.py folds them into profiles).
        from segops_server.ingestion.models import IDENTIFY_EVENT  # models load after the rules

        return frozenset([IDENTIFY_EVENT])

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        return property_matches(user.traits.get(condition["property"], MISSING), condition)

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        return traits.get(condition["property"])

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        return [
            form.property_field(values, "plan"),
            form.operator_field(self, values.get("operator", "")),
            form.value_field(values, numeric=False),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        return {"property": values.get("property", ""), **self.value_from_form(values)}

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {"property": str(condition.get("property") or ""), **self.value_to_form(condition)}
