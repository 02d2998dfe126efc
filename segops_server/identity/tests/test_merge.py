"""POST /api/identity/merge/: authoritative, follows chains, refuses cycles, audited."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.audit.models import AuditEvent
from segops_server.identity.tests.helpers import MERGE, alias, edges, merge
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db


def test_it_merges_one_user_into_another(team: Team) -> None:
    answer = merge(team.client("admin"), "alice-old", "alice")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "merged": True,
        "from_user_id": "alice-old",
        "into_user_id": "alice",
        "user_id": "alice",
    }
    assert edges(team) == {"alice-old": "alice"}
    audit = AuditEvent.objects.for_tenant(team.tenant).get(action="identity.merged")
    assert audit.actor == team.admin
    assert audit.detail["from_user_id"] == "alice-old"
    assert audit.detail["resolved_user_id"] == "alice"


def test_a_merge_into_a_merged_user_stores_the_end_of_the_chain(team: Team) -> None:
    admin = team.client("admin")
    merge(admin, "b", "c")

    answer = merge(admin, "a", "b")

    assert answer.json()["user_id"] == "c"
    assert edges(team) == {"a": "c", "b": "c"}


def test_merging_a_user_re_points_the_edges_into_it(team: Team) -> None:
    admin = team.client("admin")
    alias(admin, "visitor-1", "a")
    merge(admin, "x", "a")

    merge(admin, "a", "b")

    # Every edge points at a final id: one hop resolves any id.
    assert edges(team) == {"anon_visitor-1": "b", "x": "b", "a": "b"}


def test_a_merge_overrides_an_existing_edge(team: Team) -> None:
    admin = team.client("admin")
    alias(admin, "visitor-1", "alice")

    answer = merge(admin, "anon_visitor-1", "bob")

    assert answer.status_code == 200, answer.content
    assert edges(team) == {"anon_visitor-1": "bob"}


def test_it_refuses_to_merge_a_user_into_itself(team: Team) -> None:
    answer = merge(team.client("admin"), "alice", "alice")

    assert answer.status_code == 400, answer.content
    assert "itself" in answer.json()["into_user_id"][0]
    assert edges(team) == {}


@pytest.mark.parametrize("chain", [["b"], ["b", "c"]])
def test_it_refuses_a_cycle(team: Team, chain: list[str]) -> None:
    admin = team.client("admin")
    previous = "a"
    for user in chain:  # b merged into a (then c into b, which stores c -> a)
        assert merge(admin, user, previous).status_code == 200
        previous = user
    before = edges(team)

    answer = merge(admin, "a", chain[-1])

    assert answer.status_code == 400, answer.content
    assert "cycle" in answer.json()["into_user_id"][0]
    assert edges(team) == before
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="identity.merged").count() == len(chain)


@pytest.mark.parametrize(
    "body",
    [
        {"from_user_id": "a"},
        {"into_user_id": "a"},
        {"from_user_id": "", "into_user_id": "a"},
        {"from_user_id": "a", "into_user_id": "x" * 256},
        {"from_user_id": ["a"], "into_user_id": "b"},
    ],
)
def test_it_refuses_bad_input_with_a_400(team: Team, body: dict[str, Any]) -> None:
    answer = team.client("admin").post(MERGE, body, format="json")

    assert answer.status_code == 400, answer.content
    assert edges(team) == {}
