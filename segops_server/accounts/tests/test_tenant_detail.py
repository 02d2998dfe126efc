"""GET/PATCH/DELETE /api/tenants/<slug>/: read for everyone in it, rename for Admin, delete for Owner."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.accounts.models import Membership, Tenant
from segops_server.testing.factories import Team

URL = "/api/tenants/acme/"


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_it_shows_the_tenant_with_my_role(team: Team, who: str) -> None:
    response = team.client(who).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "acme"
    assert body["id"] == team.tenant.pk
    assert body["role"] == who


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_lets_admins_rename_the_tenant(team: Team, who: str) -> None:
    response = team.client(who).patch(URL, {"name": "Acme Corporation"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Corporation"
    team.tenant.refresh_from_db()
    assert team.tenant.name == "Acme Corporation"


def test_it_changes_the_slug(team: Team) -> None:
    response = team.client("owner").patch(URL, {"slug": "acme-corp"}, format="json")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme-corp"
    team.tenant.refresh_from_db()
    assert team.tenant.slug == "acme-corp"


def test_it_keeps_the_slug_when_patched_with_the_same_one(team: Team) -> None:
    response = team.client("admin").patch(URL, {"slug": "acme"}, format="json")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_it_refuses_a_slug_that_another_tenant_has(team: Team) -> None:
    response = team.client("owner").patch(URL, {"slug": "globex"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slug"]
    team.tenant.refresh_from_db()
    assert team.tenant.slug == "acme"


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "x" * 101}, {"slug": "AC"}, {"slug": "a_b_c"}, {"slug": None}],
)
def test_it_rejects_malformed_updates_with_400(team: Team, body: dict[str, Any]) -> None:
    response = team.client("owner").patch(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"name", "slug"}
    team.tenant.refresh_from_db()
    assert (team.tenant.name, team.tenant.slug) == ("Acme", "acme")


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_it_forbids_members_and_viewers_to_rename(team: Team, who: str) -> None:
    response = team.client(who).patch(URL, {"name": "Hijacked"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    team.tenant.refresh_from_db()
    assert team.tenant.name == "Acme"


@pytest.mark.parametrize("who", ["admin", "member", "viewer"])
def test_it_lets_only_the_owner_delete(team: Team, who: str) -> None:
    response = team.client(who).delete(URL)
    assert response.status_code == 403
    assert Tenant.objects.filter(slug="acme").exists()


def test_it_deletes_the_tenant_and_its_memberships(team: Team) -> None:
    response = team.client("owner").delete(URL)
    assert response.status_code == 204
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not Membership.objects.for_user(team.admin).exists()
    assert team.client("owner").get(URL).status_code == 404
    assert Tenant.objects.filter(slug="globex").exists()
