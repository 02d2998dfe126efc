"""GET/PATCH/DELETE /api/tenants/<slug>/members/<user_id>/: one person's role in the team."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.accounts.models import Membership
from segops_server.testing.factories import Team, client_for


def _url(user_id: int) -> str:
    return f"/api/tenants/acme/members/{user_id}/"


def _role(team: Team, who: str) -> str | None:
    membership = Membership.objects.for_tenant(team.tenant).filter(user=getattr(team, who)).first()
    return None if membership is None else membership.role


def test_it_shows_one_member_to_a_viewer(team: Team) -> None:
    response = team.client("viewer").get(_url(team.admin.pk))
    assert response.status_code == 200
    assert response.json()["email"] == "admin@acme.test"
    assert response.json()["role"] == "admin"


def test_it_answers_404_for_someone_outside_the_team(team: Team) -> None:
    response = team.client("owner").get(_url(team.outsider.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "Member not found."}


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_lets_admins_change_a_role(team: Team, who: str) -> None:
    response = team.client(who).patch(_url(team.member.pk), {"role": "viewer"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert _role(team, "member") == "viewer"


def test_it_lets_an_admin_promote_a_viewer_to_admin(team: Team) -> None:
    response = team.client("admin").patch(_url(team.viewer.pk), {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert _role(team, "viewer") == "admin"


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_never_demotes_the_owner(team: Team, who: str) -> None:
    response = team.client(who).patch(_url(team.owner.pk), {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert _role(team, "owner") == "owner"


def test_it_never_makes_a_second_owner(team: Team) -> None:
    response = team.client("owner").patch(_url(team.admin.pk), {"role": "owner"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["role"]
    assert _role(team, "admin") == "admin"


@pytest.mark.parametrize("body", [{}, {"role": ""}, {"role": "root"}, {"role": None}, {"role": ["admin"]}])
def test_it_rejects_a_malformed_role_with_400(team: Team, body: dict[str, Any]) -> None:
    response = team.client("admin").patch(_url(team.member.pk), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["role"]
    assert _role(team, "member") == "member"


@pytest.mark.parametrize("who", ["member", "viewer"])
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_it_forbids_members_and_viewers_to_change_the_team(team: Team, who: str, method: str) -> None:
    response = getattr(team.client(who), method)(_url(team.viewer.pk), {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert _role(team, "viewer") == "viewer"


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_never_removes_the_owner(team: Team, who: str) -> None:
    response = team.client(who).delete(_url(team.owner.pk))
    assert response.status_code == 403
    assert _role(team, "owner") == "owner"


def test_it_removes_a_member(team: Team) -> None:
    response = team.client("admin").delete(_url(team.member.pk))
    assert response.status_code == 204
    assert _role(team, "member") is None


def test_it_ends_a_removed_persons_access_at_once(team: Team) -> None:
    removed = team.client("member")  # signed in before the removal
    assert removed.get("/api/tenants/acme/").status_code == 200
    assert team.client("owner").delete(_url(team.member.pk)).status_code == 204
    response = removed.get("/api/tenants/acme/")
    assert response.status_code == 404
    assert removed.get("/api/tenants/acme/members/").status_code == 404
    assert client_for(team.member).get("/api/auth/me/").json()["tenants"] == []


def test_it_answers_404_when_removing_someone_not_in_the_team(team: Team) -> None:
    response = team.client("owner").delete(_url(team.outsider.pk))
    assert response.status_code == 404
    assert Membership.objects.for_tenant(team.other_tenant).filter(user=team.outsider).exists()
