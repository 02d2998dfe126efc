"""GET/POST /api/tenants/: the tenants I belong to, and new ones I own."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.accounts.models import Membership, Role, Tenant
from segops_server.testing.factories import Team, client_for, make_user

URL = "/api/tenants/"


def test_it_lists_my_tenants_with_my_role_in_a_page_envelope(team: Team) -> None:
    response = client_for(team.member).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    (acme,) = body["results"]
    assert acme["slug"] == "acme"
    assert acme["role"] == "member"
    assert acme["id"] == team.tenant.pk
    assert {"name", "created_at"} <= set(acme)


def test_it_never_lists_tenants_i_am_not_in(team: Team) -> None:
    slugs = [t["slug"] for t in client_for(team.outsider).get(URL).json()["results"]]
    assert slugs == ["globex"]


def test_it_pages_with_page_and_page_size(db: None) -> None:
    user = make_user()
    for n in range(5):
        tenant = Tenant.objects.create(name=f"T{n}", slug=f"team-{n}")
        Membership(tenant=tenant, user=user, role=Role.VIEWER).save()
    client = client_for(user)
    first = client.get(URL, {"page_size": 2}).json()
    assert first["count"] == 5
    assert [t["slug"] for t in first["results"]] == ["team-0", "team-1"]
    assert "page=2" in first["next"]
    last = client.get(URL, {"page_size": 2, "page": 3}).json()
    assert [t["slug"] for t in last["results"]] == ["team-4"]
    assert last["next"] is None
    assert last["previous"] is not None


def test_it_caps_the_page_size_at_200(db: None) -> None:
    user = make_user()
    tenants = Tenant.objects.bulk_create(Tenant(name=f"T{n}", slug=f"team-{n:03}") for n in range(201))
    Membership.objects.unscoped_all_tenants().bulk_create(
        Membership(tenant=t, user=user, role=Role.VIEWER) for t in tenants
    )
    body = client_for(user).get(URL, {"page_size": 1000}).json()
    assert body["count"] == 201
    assert len(body["results"]) == 200
    assert body["next"] is not None


def test_it_answers_404_for_a_page_past_the_end(team: Team) -> None:
    response = client_for(team.member).get(URL, {"page": 9})
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_it_creates_a_tenant_owned_by_me(team: Team) -> None:
    response = client_for(team.viewer).post(URL, {"name": "Hooli", "slug": "hooli"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "hooli"
    assert body["name"] == "Hooli"
    assert body["role"] == "owner"
    membership = Membership.objects.for_tenant(Tenant.objects.get(slug="hooli")).get()
    assert membership.user == team.viewer
    assert membership.role == Role.OWNER


def test_it_refuses_a_taken_slug(team: Team) -> None:
    response = client_for(team.member).post(URL, {"name": "Other Acme", "slug": "acme"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slug"]
    assert Tenant.objects.filter(slug="acme").count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Hooli"},
        {"slug": "hooli"},
        {"name": "", "slug": "hooli"},
        {"name": "x" * 101, "slug": "hooli"},
        {"name": "Hooli", "slug": "ho"},
        {"name": "Hooli", "slug": "h" * 41},
        {"name": "Hooli", "slug": "Hooli"},
        {"name": "Hooli", "slug": "hoo_li"},
        {"name": "Hooli", "slug": "-hooli"},
        {"name": "Hooli", "slug": None},
    ],
)
def test_it_rejects_malformed_input_with_400(team: Team, body: dict[str, Any]) -> None:
    response = client_for(team.member).post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"name", "slug"}
    assert response.json()
    assert Tenant.objects.count() == 2


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_needs_a_signed_in_person(db: None, method: str) -> None:
    response = getattr(APIClient(), method)(URL)
    assert response.status_code == 401
