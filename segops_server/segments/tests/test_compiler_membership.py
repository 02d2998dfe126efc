"""segment_membership (the other segment's definition, inlined) and nested AND/OR groups."""

from __future__ import annotations

import pytest
from django.db import connection

from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.dsl import DefinitionError
from segops_server.segments.tests.test_compiler_harness import NOW, History, ago, one, store

pytestmark = pytest.mark.django_db

BUYERS = one({"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1})
PRO = one({"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"})


@pytest.fixture
def history() -> History:
    history = store(
        [
            ("buyer_pro", "order_placed", ago(1), {}),
            ("buyer", "order_placed", ago(1), {}),
            ("pro", "page_viewed", ago(1), {}),
            ("neither", "page_viewed", ago(1), {}),
        ],
        {"buyer_pro": {"plan": "pro"}, "pro": {"plan": "pro"}},
    )
    history.segments = {
        1: BUYERS,
        2: PRO,
        3: {
            "logic": "AND",
            "conditions": [
                {"type": "segment_membership", "segment_id": 1, "operator": "in"},
                *PRO["conditions"],
            ],
        },
    }
    return history


def member(segment_id: int, operator: str = "in") -> dict[str, object]:
    return {"type": "segment_membership", "segment_id": segment_id, "operator": operator}


def test_it_matches_members_of_another_segment_by_its_definition(history: History) -> None:
    assert history.match(one(member(1))) == {"buyer_pro", "buyer"}
    assert history.match(one(member(1, "not_in"))) == {"pro", "neither"}
    assert history.match({"logic": "AND", "conditions": [member(1), member(2, "not_in")]}) == {"buyer"}


def test_it_follows_references_of_references(history: History) -> None:
    assert history.match(one(member(3))) == {"buyer_pro"}
    assert history.match(one(member(3, "not_in"))) == {"buyer", "pro", "neither"}


def test_it_nests_groups(history: History) -> None:
    rule = {
        "logic": "OR",
        "conditions": [
            {"logic": "AND", "conditions": [*BUYERS["conditions"], *PRO["conditions"]]},
            {
                "logic": "AND",
                "conditions": [member(1, "not_in"), {"logic": "OR", "conditions": [member(2, "not_in")]}],
            },
        ],
    }
    assert history.match(rule) == {"buyer_pro", "neither"}


def test_it_refuses_a_reference_deleted_since_it_was_saved(history: History) -> None:
    # The saved definition of 4 names segment 9, which no longer exists.
    history.segments[4] = one(member(9))
    with pytest.raises(DefinitionError, match="no such segment"):
        definition_compile(
            one(member(4)),
            tenant_id=history.tenant.pk,
            vendor=connection.vendor,
            now=NOW,
            lookup_definition=history.lookup,
        )


def test_it_refuses_a_referenced_segment_whose_saved_definition_is_invalid(history: History) -> None:
    history.segments[5] = {"logic": "AND", "conditions": [{"type": "user_property", "property": "a b"}]}
    with pytest.raises(DefinitionError) as error:
        history.sql(one(member(5)))
    assert str(error.value).startswith(
        "segment_id: segment 5 has an invalid definition (conditions[0].operator: required)"
    )
