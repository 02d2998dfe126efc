"""GET /api/auth/me/: who I am and the tenants I belong to, with my role in each."""

from __future__ import annotations

from rest_framework.test import APIClient

from segops_server.accounts.models import Role
from segops_server.testing.factories import Team, add_member, client_for


def test_it_shows_the_person_and_their_tenants(team: Team) -> None:
    add_member(team.other_tenant, team.admin, Role.VIEWER)
    response = client_for(team.admin).get("/api/auth/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "admin@acme.test"
    assert body["user"]["id"] == team.admin.pk
    assert set(body["user"]) == {"id", "email", "date_joined"}
    assert [(t["slug"], t["role"]) for t in body["tenants"]] == [("acme", "admin"), ("globex", "viewer")]


def test_it_shows_only_the_callers_own_tenants(team: Team) -> None:
    tenants = client_for(team.outsider).get("/api/auth/me/").json()["tenants"]
    assert [t["slug"] for t in tenants] == ["globex"]


def test_it_needs_a_signed_in_person(db: None) -> None:
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
