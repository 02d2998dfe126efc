"""POST /api/identity/alias/: anon_<anonymous_id> -> user_id, the first identify wins."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.audit.models import AuditEvent
from segops_server.identity.tests.helpers import ALIAS, alias, edges, merge, track
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db


def test_it_records_an_alias_and_answers_the_id_it_resolves_to(team: Team) -> None:
    answer = alias(team.client("admin"), "visitor-1", "alice")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"aliased": True, "user_id": "alice"}
    assert edges(team) == {"anon_visitor-1": "alice"}
    audit = AuditEvent.objects.for_tenant(team.tenant).get(action="identity.aliased")
    assert audit.actor == team.admin
    assert audit.detail == {"anonymous_id": "anon_visitor-1", "user_id": "alice"}


def test_it_keeps_an_earlier_edge_and_says_so(team: Team) -> None:
    admin = team.client("admin")
    alias(admin, "visitor-1", "alice")

    answer = alias(admin, "visitor-1", "bob")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"aliased": False, "user_id": "alice"}
    assert edges(team) == {"anon_visitor-1": "alice"}
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="identity.aliased").count() == 1


def test_it_keeps_an_edge_recorded_by_ingestion(team: Team) -> None:
    track(team, "alice", "page_viewed", anonymous_id="visitor-1")

    answer = alias(team.client("admin"), "visitor-1", "bob")

    assert answer.json() == {"aliased": False, "user_id": "alice"}


def test_it_never_aliases_an_identified_anonymous_visitor(team: Team) -> None:
    track(team, None, "context_identified", anonymous_id="visitor-1", payload={"plan": "pro"})

    answer = alias(team.client("admin"), "visitor-1", "bob")

    assert answer.json() == {"aliased": False, "user_id": "anon_visitor-1"}
    assert edges(team) == {}


def test_it_points_at_the_user_a_merged_user_counts_for(team: Team) -> None:
    admin = team.client("admin")
    merge(admin, "alice", "alice-new")

    answer = alias(admin, "visitor-1", "alice")

    assert answer.json() == {"aliased": True, "user_id": "alice-new"}
    assert edges(team)["anon_visitor-1"] == "alice-new"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "alice"}, "anonymous_id"),
        ({"anonymous_id": "v"}, "user_id"),
        ({"anonymous_id": "v", "user_id": "anon_v"}, "user_id"),  # a known user is never anon_
        ({"anonymous_id": "v", "user_id": "   "}, "user_id"),
        ({"anonymous_id": "v", "user_id": 7}, "user_id"),
        ({"anonymous_id": "x" * 251, "user_id": "alice"}, "anonymous_id"),
        ({"anonymous_id": "v\x00", "user_id": "alice"}, "anonymous_id"),
    ],
)
def test_it_refuses_bad_input_with_a_400_naming_the_field(
    team: Team, body: dict[str, Any], field: str
) -> None:
    answer = team.client("admin").post(ALIAS, body, format="json")

    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert edges(team) == {}
