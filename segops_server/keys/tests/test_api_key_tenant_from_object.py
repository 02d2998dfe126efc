from __future__ import annotations

import pytest

from segops_server.accounts.models import Role
from segops_server.keys.services import api_key_create
from segops_server.testing.factories import Team, add_member, client_for, make_tenant


@pytest.mark.django_db
def test_it_revokes_a_key_by_id_alone_for_a_person_in_several_tenants(team: Team) -> None:
    make_tenant("second", owner=team.admin)  # the admin now belongs to two tenants
    key = api_key_create(
        tenant=team.tenant, created_by=team.admin, name="k", scopes=["segments:read"]
    ).api_key
    client = client_for(team.admin)  # names no tenant, as the seed's curl does
    assert client.delete(f"/api/auth/api-keys/{key.pk}/").status_code == 204


@pytest.mark.django_db
def test_it_answers_the_outsider_as_for_a_missing_key(team: Team) -> None:
    key = api_key_create(
        tenant=team.tenant, created_by=team.admin, name="k", scopes=["segments:read"]
    ).api_key
    client = client_for(team.outsider)
    mine = client.delete(f"/api/auth/api-keys/{key.pk}/")
    missing = client.delete("/api/auth/api-keys/999999/")
    assert mine.status_code == missing.status_code == 404
    assert mine.json() == missing.json()


@pytest.mark.django_db
def test_it_still_needs_a_named_tenant_for_an_unknown_id_when_ambiguous(team: Team) -> None:
    add_member(team.other_tenant, team.admin, Role.ADMIN)
    response = client_for(team.admin).delete("/api/auth/api-keys/999999/")
    assert response.status_code == 400
