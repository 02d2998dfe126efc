"""segment_membership: the user is (or is not) in another segment of the same tenant, by its rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.base import ConditionType
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import MEMBERSHIP_OPERATORS, choice, whole

if TYPE_CHECKING:
    from segops_server.segments.rules.compiler import Compiler, Scope
    from segops_server.segments.rules.reference import UserFacts


class SegmentMembership(ConditionType):
    name = "segment_membership"
    label = "Segment membership"
    required = ("segment_id", "operator")
    operators = MEMBERSHIP_OPERATORS
    default_operator = "in"
    form_names = ("operator", "segment_id")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "segment_id": whole(fields["segment_id"], f"{path}.segment_id", minimum=1),
            "operator": choice(fields["operator"], MEMBERSHIP_OPERATORS, f"{path}.operator"),
        }

    def referenced_segment(self, condition: dict[str, Any]) -> int | None:
        segment_id = condition.get("segment_id")
        return segment_id if isinstance(segment_id, int) else None

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        # Nothing of its own: the referenced definition is inlined, and its types are walked.
        return frozenset()

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        # The other segment's definition, inlined (not its last computed members).
        sub = compiler.referenced_query(condition["segment_id"], stack)
        if compiler.pg:
            # EXISTS / NOT EXISTS: PostgreSQL plans (anti-)semi-joins for both; NOT IN it cannot.
            exists = "EXISTS" if condition["operator"] == "in" else "NOT EXISTS"
            return sql(
                "{x} (SELECT 1 FROM ({sub}) {m} WHERE {m}.user_id = {u}.user_id)",
                x=exists,
                sub=sub,
                m=compiler.alias("s"),
                u=scope.users,
            )
        keyword = "IN" if condition["operator"] == "in" else "NOT IN"
        return sql("{u}.user_id {k} ({sub})", u=scope.users, k=keyword, sub=sub)

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        inside = user.in_segment(condition["segment_id"])
        return inside if condition["operator"] == "in" else not inside

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        options = [("", "Choose a segment")] + [(str(pk), name) for pk, name in segments]
        return [
            form.operator_field(self, values.get("operator", "")),
            form.RowField(
                "segment_id", "Segment", "select", values.get("segment_id", ""), options, wide=True
            ),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        return {
            "segment_id": form.parse_optional_whole(values.get("segment_id", "")),
            "operator": values.get("operator", ""),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "operator": str(condition.get("operator") or ""),
            "segment_id": form.form_text(condition.get("segment_id"), scalar=False),
        }
