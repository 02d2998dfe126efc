"""Who may alias and merge: Admins and up, keys with identity:write; another tenant is a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.identity.tests.helpers import alias, edges, merge
from segops_server.keys.models import Scope
from segops_server.testing.factories import Team, client_for
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

Call = Callable[[APIClient], Any]
CALLS = [
    pytest.param(lambda client: merge(client, "a", "b"), id="merge"),
    pytest.param(lambda client: alias(client, "v", "b"), id="alias"),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("who", ["viewer", "member"])
def test_viewers_and_members_are_refused(team: Team, who: str, call: Call) -> None:
    answer = call(team.client(who))

    assert answer.status_code == 403, answer.content
    assert edges(team) == {}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("who", ["admin", "owner"])
def test_admins_and_owners_may(team: Team, who: str, call: Call) -> None:
    answer = call(team.client(who))

    assert answer.status_code == 200, answer.content
    assert edges(team) != {}


@pytest.mark.parametrize("call", CALLS)
def test_a_key_needs_the_identity_write_scope(team: Team, call: Call) -> None:
    others = [s.value for s in Scope if s != Scope.IDENTITY_WRITE]
    without = key_client(make_api_key(team.tenant, scopes=others).key)
    with_it = key_client(make_api_key(team.tenant, scopes=[Scope.IDENTITY_WRITE.value]).key)

    refused = call(without)
    assert refused.status_code == 403, refused.content
    assert "identity:write" in refused.json()["detail"]
    assert edges(team) == {}

    allowed = call(with_it)
    assert allowed.status_code == 200, allowed.content
    assert edges(team) != {}


@pytest.mark.parametrize("call", CALLS)
def test_another_tenants_owner_gets_a_404(team: Team, call: Call) -> None:
    outsider = client_for(team.outsider, team.tenant)

    answer = call(outsider)

    assert answer.status_code == 404, answer.content
    assert edges(team) == {}


def test_an_edge_stays_in_its_tenant(team: Team) -> None:
    at_home = client_for(team.outsider, team.other_tenant)

    assert merge(at_home, "a", "b").status_code == 200

    assert edges(team) == {}
