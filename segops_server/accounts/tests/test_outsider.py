"""Someone from another tenant learns nothing about acme from any tenant-scoped endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.accounts.models import Invitation, Membership, Role, Tenant
from segops_server.testing.factories import Team, client_for

# (method, path template, body): every tenant-scoped endpoint and method of the team API.
ENDPOINTS = [
    ("get", "/api/tenants/{slug}/", None),
    ("patch", "/api/tenants/{slug}/", {"name": "Pwned"}),
    ("delete", "/api/tenants/{slug}/", None),
    ("get", "/api/tenants/{slug}/members/", None),
    ("post", "/api/tenants/{slug}/members/", {"email": "spy@globex.test", "role": "admin"}),
    ("get", "/api/tenants/{slug}/members/{member}/", None),
    ("patch", "/api/tenants/{slug}/members/{member}/", {"role": "viewer"}),
    ("delete", "/api/tenants/{slug}/members/{member}/", None),
    ("get", "/api/tenants/{slug}/invitations/", None),
    ("delete", "/api/tenants/{slug}/invitations/{invitation}/", None),
]


def _call(client: APIClient, method: str, template: str, body: Any, **ids: Any) -> Any:
    return getattr(client, method)(template.format(**ids), body, format="json")


def _snapshot(team: Team) -> Any:
    tenant = Tenant.objects.get(pk=team.tenant.pk)
    members = sorted(Membership.objects.for_tenant(tenant).values_list("user_id", "role"))
    invitations = sorted(Invitation.objects.for_tenant(tenant).values_list("email", "role"))
    return (tenant.name, tenant.slug, members, invitations)


@pytest.fixture
def invitation(team: Team) -> Invitation:
    invitation = Invitation(tenant=team.tenant, email="pending@initech.test", role=Role.VIEWER)
    invitation.save()
    return invitation


@pytest.mark.parametrize("header", [False, True], ids=["no-header", "header-names-acme"])
@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_it_answers_404_to_an_outsider_and_changes_nothing(
    team: Team, invitation: Invitation, header: bool, method: str, template: str, body: Any
) -> None:
    before = _snapshot(team)
    client = client_for(team.outsider, team.tenant if header else None)
    ids = {"member": team.member.pk, "invitation": invitation.pk}
    response = _call(client, method, template, body, slug="acme", **ids)
    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}
    assert _snapshot(team) == before


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_it_answers_the_outsider_exactly_as_for_a_tenant_that_does_not_exist(
    team: Team, invitation: Invitation, method: str, template: str, body: Any
) -> None:
    client = client_for(team.outsider)
    ids = {"member": team.member.pk, "invitation": invitation.pk}
    real = _call(client, method, template, body, slug="acme", **ids)
    missing = _call(client, method, template, body, slug="no-such-tenant", **ids)
    assert (real.status_code, real.json()) == (missing.status_code, missing.json())
    assert set(real.headers) == set(missing.headers)


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_it_lets_the_outsider_use_the_same_endpoints_on_their_own_tenant(
    team: Team, method: str, template: str, body: Any
) -> None:
    # The control: the 404s above come from tenancy, not from a broken endpoint.
    theirs = Invitation(tenant=team.other_tenant, email="pending@initech.test", role=Role.VIEWER)
    theirs.save()
    colleague = client_for(team.outsider, team.other_tenant).post(
        "/api/tenants/globex/members/", {"email": "member@acme.test", "role": "member"}, format="json"
    )
    assert colleague.status_code == 201
    joined = client_for(team.member).post(
        "/api/invitations/accept/", {"token": colleague.json()["token"]}, format="json"
    )
    assert joined.status_code == 200
    client = client_for(team.outsider, team.other_tenant)
    ids = {"member": team.member.pk, "invitation": theirs.pk}
    response = _call(client, method, template, body, slug="globex", **ids)
    assert response.status_code in (200, 201, 204)


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_it_asks_an_anonymous_caller_to_sign_in(
    team: Team, invitation: Invitation, method: str, template: str, body: Any
) -> None:
    ids = {"member": team.member.pk, "invitation": invitation.pk}
    response = _call(APIClient(), method, template, body, slug="acme", **ids)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
