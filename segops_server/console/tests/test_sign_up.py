"""Sign-up at /sign-up/: the new person owns the new workspace and is signed in."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from segops_server.accounts.models import Membership, Role, User
from segops_server.accounts.services import member_invite
from segops_server.testing.factories import Team

GOOD = {
    "email": "New@Example.com",
    "password": "a-long-enough-passphrase",
    "tenant_name": "Initech",
    "tenant_slug": "initech",
}


def test_it_creates_the_owner_and_workspace_and_signs_in(db: None) -> None:
    client = Client()
    response = client.post("/sign-up/", GOOD)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    (membership,) = Membership.objects.for_user(user)
    assert (membership.tenant.slug, membership.role) == ("initech", Role.OWNER)
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/t/initech/"  # the dashboard


def test_it_derives_the_slug_from_the_name(db: None) -> None:
    Client().post("/sign-up/", {**GOOD, "tenant_slug": "", "tenant_name": "Big Corp"})
    user = User.objects.get(email="new@example.com")
    assert Membership.objects.for_user(user).get().tenant.slug == "big-corp"


def test_it_joins_no_inviting_team_by_signing_up(team: Team) -> None:
    member_invite(tenant=team.tenant, email="new@example.com", role="viewer", invited_by=team.owner)
    client = Client()
    client.post("/sign-up/", {**GOOD, "tenant_name": "", "tenant_slug": ""})
    user = User.objects.get(email="new@example.com")
    assert list(Membership.objects.for_user(user)) == []


def test_it_returns_to_the_invitation_after_signing_up(team: Team) -> None:
    token = member_invite(
        tenant=team.tenant, email="new@example.com", role="viewer", invited_by=team.owner
    ).token
    link = f"/invitations/{token}/"
    response = Client().post(f"/sign-up/?next={link}", {**GOOD, "tenant_name": "", "tenant_slug": ""})
    assert response["Location"] == link


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "short"}, b"This password is too short"),
        ({"password": "password123"}, b"This password is too common"),
        ({"email": "not-an-email"}, b"Enter a valid email address"),
        ({"tenant_slug": "Bad Slug!"}, b"Use 3-40 lowercase letters"),
    ],
)
def test_it_shows_what_is_wrong(db: None, change: dict[str, str], message: bytes) -> None:
    response = Client().post("/sign-up/", {**GOOD, **change})
    assert response.status_code == 400
    assert message in response.content
    assert not User.objects.exists()


def test_it_refuses_a_taken_email_and_slug(team: Team) -> None:
    taken_email = Client().post("/sign-up/", {**GOOD, "email": "owner@acme.test"})
    assert b"An account with this email already exists." in taken_email.content
    taken_slug = Client().post("/sign-up/", {**GOOD, "tenant_slug": "acme"})
    assert b"This slug is already taken." in taken_slug.content
    assert not User.objects.filter(email="new@example.com").exists()


@override_settings(SEGOPS_ALLOW_REGISTRATION=False)
def test_it_is_closed_when_registration_is_switched_off(db: None) -> None:
    assert Client().get("/sign-up/").status_code == 403
    assert Client().post("/sign-up/", GOOD).status_code == 403
    assert not User.objects.exists()
