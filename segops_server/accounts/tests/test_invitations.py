"""GET /api/tenants/<slug>/invitations/ and DELETE .../invitations/<id>/: pending invitations."""

from __future__ import annotations

import pytest

from segops_server.accounts.models import Invitation, Role
from segops_server.testing.factories import Team

URL = "/api/tenants/acme/invitations/"


def _invite(team: Team, email: str = "stranger@initech.test") -> Invitation:
    invitation = Invitation(tenant=team.tenant, email=email, role=Role.MEMBER, invited_by=team.admin)
    invitation.save()
    return invitation


def test_it_lists_pending_invitations_to_admins(team: Team) -> None:
    invitation = _invite(team)
    Invitation(tenant=team.other_tenant, email="theirs@globex.test", role=Role.VIEWER).save()
    response = team.client("admin").get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"] == [
        {
            "id": invitation.pk,
            "email": "stranger@initech.test",
            "role": "member",
            "created_at": body["results"][0]["created_at"],
            "expires_at": body["results"][0]["expires_at"],
            "status": "invited",
        }
    ]


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_it_hides_invitations_from_members_and_viewers(team: Team, who: str) -> None:
    _invite(team)
    response = team.client(who).get(URL)
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_cancels_an_invitation(team: Team, who: str) -> None:
    invitation = _invite(team)
    response = team.client(who).delete(f"{URL}{invitation.pk}/")
    assert response.status_code == 204
    assert not Invitation.objects.for_tenant(team.tenant).exists()
    assert team.client(who).get(URL).json()["count"] == 0


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_it_forbids_members_and_viewers_to_cancel(team: Team, who: str) -> None:
    invitation = _invite(team)
    response = team.client(who).delete(f"{URL}{invitation.pk}/")
    assert response.status_code == 403
    assert Invitation.objects.for_tenant(team.tenant).filter(pk=invitation.pk).exists()


def test_it_answers_404_for_another_tenants_invitation(team: Team) -> None:
    theirs = Invitation(tenant=team.other_tenant, email="theirs@globex.test", role=Role.VIEWER)
    theirs.save()
    response = team.client("owner").delete(f"{URL}{theirs.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invitation not found."}
    assert Invitation.objects.for_tenant(team.other_tenant).filter(pk=theirs.pk).exists()


def test_it_answers_404_for_an_unknown_invitation(team: Team) -> None:
    assert team.client("owner").delete(f"{URL}999999/").status_code == 404
