"""GET/POST /api/tenants/<slug>/members/: the team, and adding people to it."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.accounts.models import Invitation, Membership, Role
from segops_server.testing.factories import Team, make_user

URL = "/api/tenants/acme/members/"


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_it_lists_the_team_to_everyone_in_it(team: Team, who: str) -> None:
    response = team.client(who).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    roles = {m["email"]: m["role"] for m in body["results"]}
    assert roles == {
        "owner@acme.test": "owner",
        "admin@acme.test": "admin",
        "member@acme.test": "member",
        "viewer@acme.test": "viewer",
    }
    assert set(body["results"][0]) == {"user_id", "email", "role", "joined_at"}


def test_it_pages_the_team(team: Team) -> None:
    body = team.client("viewer").get(URL, {"page_size": 3}).json()
    assert len(body["results"]) == 3
    assert body["next"] is not None


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_it_never_adds_an_existing_account_without_consent(team: Team, role: str) -> None:
    newcomer = make_user("newcomer@initech.test")
    response = team.client("admin").post(URL, {"email": "Newcomer@Initech.test", "role": role}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "invited"
    assert response.json()["role"] == role
    assert not Membership.objects.for_tenant(team.tenant).filter(user=newcomer).exists()
    assert Invitation.objects.for_tenant(team.tenant).get().email == "newcomer@initech.test"


def test_it_answers_the_same_whether_or_not_the_email_has_an_account(team: Team) -> None:
    make_user("known@initech.test")
    known = team.client("admin").post(URL, {"email": "known@initech.test", "role": "viewer"}, format="json")
    unknown = team.client("admin").post(
        URL, {"email": "nobody@initech.test", "role": "viewer"}, format="json"
    )
    assert known.status_code == unknown.status_code == 201
    assert set(known.json()) == set(unknown.json())
    assert known.json()["status"] == unknown.json()["status"] == "invited"
    same = ("id", "email", "created_at", "expires_at", "token", "accept_url")
    assert {k: v for k, v in known.json().items() if k not in same} == {
        k: v for k, v in unknown.json().items() if k not in same
    }


def test_it_invites_an_unknown_email(team: Team) -> None:
    response = team.client("owner").post(
        URL, {"email": "Stranger@Initech.test", "role": "member"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "invited"
    assert body["email"] == "stranger@initech.test"
    assert body["role"] == "member"
    assert body["token"].startswith("inv_")
    assert body["accept_url"] == f"http://testserver/invitations/{body['token']}/"
    assert set(body) == {"id", "email", "role", "created_at", "expires_at", "status", "token", "accept_url"}

    listed = team.client("admin").get("/api/tenants/acme/invitations/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == body["id"]
    assert listed["results"][0]["email"] == "stranger@initech.test"
    invitation = Invitation.objects.for_tenant(team.tenant).get()
    assert invitation.invited_by == team.owner


@pytest.mark.parametrize("email", ["member@acme.test", "MEMBER@acme.test"])
def test_it_answers_409_for_someone_already_in_the_team(team: Team, email: str) -> None:
    response = team.client("admin").post(URL, {"email": email, "role": "viewer"}, format="json")
    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    assert Membership.objects.for_tenant(team.tenant).get(user=team.member).role == Role.MEMBER


def test_it_answers_409_for_a_second_invitation_to_the_same_email(team: Team) -> None:
    client = team.client("admin")
    assert client.post(URL, {"email": "x@initech.test", "role": "viewer"}, format="json").status_code == 201
    response = client.post(URL, {"email": "X@initech.test", "role": "admin"}, format="json")
    assert response.status_code == 409
    assert Invitation.objects.for_tenant(team.tenant).get().role == Role.VIEWER


def test_it_never_grants_owner(team: Team) -> None:
    make_user("newcomer@initech.test")
    response = team.client("owner").post(
        URL, {"email": "newcomer@initech.test", "role": "owner"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["role"]
    assert Membership.objects.for_tenant(team.tenant).count() == 4


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "x@initech.test"},
        {"role": "viewer"},
        {"email": "not-an-email", "role": "viewer"},
        {"email": "x@initech.test", "role": "superuser"},
        {"email": "x@initech.test", "role": "Admin"},
        {"email": "x@initech.test", "role": None},
        {"email": ["x@initech.test"], "role": "viewer"},
    ],
)
def test_it_rejects_malformed_input_with_400(team: Team, body: dict[str, Any]) -> None:
    response = team.client("admin").post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"email", "role"}
    assert response.json()
    assert not Invitation.objects.for_tenant(team.tenant).exists()


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_it_forbids_members_and_viewers_to_add_people(team: Team, who: str) -> None:
    response = team.client(who).post(URL, {"email": "x@initech.test", "role": "viewer"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert not Invitation.objects.for_tenant(team.tenant).exists()
