"""User-supplied values never become SQL text: quotes, comments and odd names are just data."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from segops_server.ingestion.models import Event
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.dsl import DefinitionError
from segops_server.segments.tests.test_compiler_harness import NOW, ago, one, store

pytestmark = pytest.mark.django_db

ATTACK = "x' OR 1=1 --"
DROP = "'); DROP TABLE ingestion_event; --"


def compile_sql(definition: dict[str, Any], tenant_id: int = 1) -> tuple[str, list[Any]]:
    return definition_compile(
        definition, tenant_id=tenant_id, vendor=connection.vendor, now=NOW, lookup_definition=lambda _: None
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "user_property", "property": "name", "operator": "eq", "value": ATTACK},
        {"type": "user_property", "property": "name", "operator": "in", "value": [ATTACK, DROP]},
        {"type": "user_property", "property": "name", "operator": "neq", "value": ATTACK},
        {"type": "user_property", "property": "name", "operator": "contains", "value": "' OR '"},
        {"type": "user_property", "property": "name", "operator": "starts_with", "value": ATTACK},
        {"type": "user_property", "property": "name", "operator": "ends_with", "value": DROP},
        {
            "type": "user_property",
            "property": "name",
            "operator": "matches_regex",
            "value": "'; DROP TABLE ingestion_event; --",
        },
        {
            "type": "event_property",
            "event_type": "signup",
            "property": "utm-source",
            "operator": "eq",
            "value": ATTACK,
        },
    ],
)
def test_it_treats_quotes_and_comments_in_values_as_data(condition: dict[str, Any]) -> None:
    history = store(
        [
            ("hacker", "signup", ago(1), {"utm-source": ATTACK}),
            ("plain", "signup", ago(1), {"utm-source": "ads"}),
        ],
        {"hacker": {"name": ATTACK}, "plain": {"name": "Ada"}},
    )
    members = history.match(one(condition))
    assert members in ({"hacker"}, {"plain"}, set())
    assert Event.objects.for_tenant(history.tenant).count() == 2


def test_it_puts_every_value_in_the_parameters_and_none_in_the_text() -> None:
    marker = "zz_marker"
    definition = {
        "logic": "OR",
        "conditions": [
            {"type": "user_property", "property": f"{marker}_p1", "operator": "eq", "value": f"{marker} v1"},
            {
                "type": "event_property",
                "event_type": f"{marker}_e1",
                "property": f"{marker}_p2",
                "operator": "matches_regex",
                "value": f"{marker}.*",
            },
            {
                "type": "monetary",
                "event_type": f"{marker}_e2",
                "property": f"{marker}_p3",
                "metric": "avg",
                "operator": "between",
                "value": [123456.5, 654321.25],
            },
            {"type": "event_sequence", "events": [f"{marker}_e3", f"{marker}_e4"], "window_days": 4321},
            {"type": "recency", "event_type": f"{marker}_e5", "operator": "in", "window_days": [9876]},
        ],
    }
    text, params = compile_sql(definition, tenant_id=987654)
    for fragment in (marker, "123456", "654321", "4321", "9876", "987654"):
        assert fragment not in text
    assert text.count("%s") == len(params)
    assert f"{marker} v1" in params


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"type": "user_property", "property": "name' OR '1'='1", "operator": "is_set"}, "property"),
        ({"type": "user_property", "property": 'a"."b', "operator": "is_set"}, "property"),
        ({"type": "user_property", "property": "$.a", "operator": "is_set"}, "property"),
        ({"type": "user_property", "property": "a b", "operator": "is_set"}, "property"),
        ({"type": "event_count", "event_type": "x'; --", "operator": "eq", "value": 1}, "event_type"),
        ({"type": "event_sequence", "events": ["signup", "x' OR 1=1"]}, "events[1]"),
    ],
)
def test_it_refuses_names_outside_the_safe_character_sets(condition: dict[str, Any], field: str) -> None:
    # The compiler validates too, whatever its caller did.
    with pytest.raises(DefinitionError) as error:
        compile_sql(one(condition))
    assert str(error.value).startswith(f"conditions[0].{field}:")


def test_it_compiles_only_for_known_databases_and_aware_times() -> None:
    with pytest.raises(ValueError, match="vendor"):
        definition_compile(
            one({"type": "user_property", "property": "a", "operator": "is_set"}),
            tenant_id=1,
            vendor="mysql",
            now=NOW,
            lookup_definition=lambda _: None,
        )
    with pytest.raises(ValueError, match="aware"):
        definition_compile(
            one({"type": "user_property", "property": "a", "operator": "is_set"}),
            tenant_id=1,
            vendor="sqlite",
            now=NOW.replace(tzinfo=None),
            lookup_definition=lambda _: None,
        )
