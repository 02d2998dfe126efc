"""Condition types as a table: each documented type is one registered module providing every
facet (checks, SQL, meaning, explain, the builder's row), and the generic modules name none."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.http import QueryDict

from segops_server.console import builder
from segops_server.ingestion.models import Event
from segops_server.segments.rules import compiler, conditions, dsl, explain, reference
from segops_server.segments.rules.compiler import Compiler, Scope, definition_compile
from segops_server.segments.rules.conditions import REGISTRY, form
from segops_server.segments.rules.conditions.base import ConditionType
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import event_type
from segops_server.segments.rules.dsl import DefinitionError, definition_validate
from segops_server.segments.rules.reference import UserFacts
from segops_server.segments.tests.test_compiler_harness import ago, one, store
from segops_server.testing.factories import Team

ROOT = Path(__file__).resolve().parents[3]
# By module, not path, so the scan follows them wherever they move.
GENERIC_MODULES = [dsl, compiler, reference, explain, builder]
FACETS = ("validate", "sql", "evaluate", "form_fields", "from_form", "to_form")
NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)


def documented() -> dict[str, dict[str, Any]]:
    """Each `### <type>: ...` section of docs/segments.md and the condition its example shows."""
    text = (ROOT / "docs/segments.md").read_text()
    section = text.split("## Condition types", 1)[1].split("\n## ", 1)[0]
    found = {}
    for part in section.split("\n### ")[1:]:
        name = part.split(":", 1)[0].strip()
        example = re.search(r"```json\n(.*?)\n```", part, re.S)
        assert example, f"docs/segments.md shows no example of {name}"
        found[name] = json.loads(example.group(1))
    return found


def lookup(segment_id: int) -> dict[str, Any]:
    return one({"type": "user_property", "property": "plan", "operator": "is_set"})


def test_it_registers_each_documented_type_in_a_module_of_its_own() -> None:
    assert list(REGISTRY) == list(documented())
    for name, kind in REGISTRY.items():
        assert type(kind).__module__ == f"{conditions.__name__}.{name}"
        assert kind.name == name


def test_the_dsl_accepts_the_registered_types_and_no_other() -> None:
    for name, example in documented().items():
        assert definition_validate(one(example), lookup_definition=lookup)["conditions"][0]["type"] == name
    with pytest.raises(DefinitionError) as refused:
        definition_validate(one({"type": "page_count"}), lookup_definition=lookup)
    assert refused.value.message.endswith(f"(one of: {', '.join(REGISTRY)})")


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_type_provides_every_facet(name: str) -> None:
    kind = REGISTRY[name]
    for facet in FACETS:
        assert getattr(type(kind), facet) is not getattr(ConditionType, facet), f"{name} lacks {facet}"
    definition = definition_validate(one(documented()[name]), lookup_definition=lookup)
    for vendor in ("postgresql", "sqlite"):
        text, params = definition_compile(
            definition, tenant_id=1, vendor=vendor, now=NOW, lookup_definition=lookup
        )
        assert text.startswith("SELECT ")
        assert params
    rows = [
        (user, event, ago(days), {"total": 30, "plan": "pro"})
        for user, event, days in (
            ("u", "signup", 9),
            ("u", "cart_added", 8),
            ("u", "order_placed", 7),
            ("u", "login", 1),
            ("v", "login", 40),
            ("v", "plan_changed", 39),
        )
    ]
    history = store(rows, {"u": {"country": "FR"}, "v": {"plan": "pro"}})
    history.segments = {12: lookup(12)}
    history.match(definition)  # the SQL and the reference agree
    stored = [Event(event_type=t, occurred_at=at, payload=p) for _, t, at, p in rows]
    kind.value_seen(definition["conditions"][0], stored, {"country": "FR"}, NOW)  # any value, no error


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_types_row_in_the_builder_goes_to_the_dsl_and_back(name: str) -> None:
    definition = definition_validate(one(documented()[name]), lookup_definition=lookup)
    tree = builder.tree_from_definition(definition)
    row = tree.children[0]
    names = [f.name for f in builder.row_fields(row, [(12, "Other")])]
    assert names == ["type", *REGISTRY[name].form_names]
    posted = QueryDict(mutable=True)
    posted.update({"r-logic": "AND", "node": row.path, f"{row.path}-kind": "condition"})
    for field_name, value in row.values.items():
        posted[f"{row.path}-{field_name}"] = value
    again = builder.tree_to_definition(builder.tree_from_post(posted))
    assert definition_validate(again, lookup_definition=lookup) == definition


@pytest.mark.parametrize("module", GENERIC_MODULES, ids=lambda m: m.__name__)
def test_the_generic_modules_name_no_condition_type(module: ModuleType) -> None:
    source = Path(str(module.__file__)).read_text()
    named = [name for name in REGISTRY if re.search(rf"\b{name}\b", source)]
    assert named == [], f"{module.__name__} names {named}: that belongs in {conditions.__name__}.<type>"


@pytest.mark.parametrize("kind", [[], ["event_count"], {"a": 1}, 3, True])
def test_it_refuses_a_type_that_is_not_a_name(kind: Any) -> None:
    with pytest.raises(DefinitionError) as refused:
        definition_validate(one({"type": kind, "event_type": "x"}), lookup_definition=lookup)
    assert refused.value.message.startswith(f"conditions[0].type: unknown condition type {kind!r}")


@pytest.mark.django_db
def test_the_api_answers_a_type_that_is_not_a_name_with_a_400(team: Team) -> None:
    response = team.client("member").post(
        "/api/segments/",
        {"name": "Odd", "definition": one({"type": ["event_count"], "event_type": "x"})},
        format="json",
    )
    assert response.status_code == 400
    assert "conditions[0].type: unknown condition type" in response.json()["definition"][0]


class EverDid(ConditionType):
    """A type added the way the issue asks: one class, nothing else edited."""

    name = "ever_did"
    label = "Ever did"
    required = ("event_type",)
    form_names = ("event_type",)

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        return {"event_type": event_type(fields["event_type"], f"{path}.event_type")}

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        done = sql("SELECT user_id {events}", events=compiler.of_type(condition["event_type"]))
        return sql("{u}.user_id IN ({done})", u=scope.users, done=done)

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        return bool(user.of_type(condition["event_type"]))

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        return [form.event_type_field(values)]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        return {"event_type": values.get("event_type", "")}

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {"event_type": str(condition.get("event_type") or "")}


@pytest.mark.django_db
def test_a_new_type_is_one_class_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, EverDid.name, EverDid())
    history = store([("a", "signup", ago(3), {}), ("b", "login", ago(2), {}), ("a", "login", ago(1), {})])
    assert history.match(one({"type": "ever_did", "event_type": "signup"})) == {"a"}
    rule = {
        "logic": "OR",
        "conditions": [
            {"type": "ever_did", "event_type": "signup"},
            one({"type": "recency", "event_type": "login", "operator": "lt", "window_days": 2}),
        ],
    }
    assert history.match(rule) == {"a"}
    with pytest.raises(DefinitionError, match=r"conditions\[0\]\.event_type: must be an event type"):
        definition_validate(one({"type": "ever_did", "event_type": "Sign Up"}), lookup_definition=lookup)
