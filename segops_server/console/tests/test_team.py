"""Settings → Team: invite by email with a role, change a role, remove someone; the Owner is fixed."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client

from segops_server.accounts.models import Invitation, Membership
from segops_server.console.tests.conftest import ConsoleFor, htmx, signed_in
from segops_server.testing.factories import Team, make_user

TEAM = "/t/acme/settings/team/"


def test_it_lists_everyone_with_their_role(console: ConsoleFor) -> None:
    html = console("viewer").get(TEAM).content.decode()
    for email in ["owner@acme.test", "admin@acme.test", "member@acme.test", "viewer@acme.test"]:
        assert email in html
    assert "outsider@globex.test" not in html


def _link(html: str) -> str:
    found = re.search(
        r'id="invite-link" class="secret" type="text" readonly value="http://testserver(/invitations/[^"]+/)"',
        html,
    )
    assert found is not None, html
    return found.group(1)


def test_it_shows_the_link_once_and_joins_only_when_the_invitee_accepts(
    team: Team, console: ConsoleFor, django_capture_on_commit_callbacks: Any
) -> None:
    friend = make_user("friend@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = console("admin").post(TEAM + "invite/", {"email": "Friend@Example.com", "role": "member"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    link = _link(response.content.decode())
    assert link not in console("admin").get(TEAM).content.decode()  # shown once
    assert not Membership.objects.for_tenant(team.tenant).filter(user=friend).exists()
    assert len(mail.outbox) == 1
    assert link in mail.outbox[0].body
    assert mail.outbox[0].to == ["friend@example.com"]

    invitee = signed_in(friend)
    offer = invitee.get(link)
    assert offer.status_code == 200
    assert b"Join Acme" in offer.content
    assert not Membership.objects.for_tenant(team.tenant).filter(user=friend).exists()  # GET takes nothing
    joined = invitee.post(link)
    assert joined["Location"] == "/t/acme/"
    assert Membership.objects.for_tenant(team.tenant).get(user=friend).role == "member"
    assert invitee.get("/t/acme/segments/").status_code == 200
    assert invitee.post(link).status_code == 404  # single use


def test_it_refuses_the_link_to_someone_signed_in_as_another_email(team: Team, console: ConsoleFor) -> None:
    response = console("admin").post(TEAM + "invite/", {"email": "friend@example.com", "role": "member"})
    link = _link(response.content.decode())
    stranger = signed_in(team.outsider)
    assert b"sent to another email address" in stranger.get(link).content
    assert stranger.post(link).status_code == 403
    assert not Membership.objects.for_tenant(team.tenant).filter(user=team.outsider).exists()
    assert Invitation.objects.for_tenant(team.tenant).exists()


def test_it_sends_a_signed_out_invitee_to_sign_in_first(team: Team, console: ConsoleFor) -> None:
    response = console("admin").post(TEAM + "invite/", {"email": "friend@example.com", "role": "member"})
    link = _link(response.content.decode())
    anonymous = Client().get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/sign-in/?next=")


def test_it_invites_an_unknown_email_and_lists_the_invitation(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    admin.post(TEAM + "invite/", {"email": "later@example.com", "role": "viewer"})
    invitation = Invitation.objects.for_tenant(team.tenant).get()
    assert (invitation.email, invitation.role) == ("later@example.com", "viewer")
    assert b"later@example.com" in admin.get(TEAM).content
    assert b"later@example.com" not in console("viewer").get(TEAM).content  # invitations are for Admins
    admin.post(f"{TEAM}invitations/{invitation.pk}/cancel/")
    assert not Invitation.objects.for_tenant(team.tenant).exists()


def test_it_refuses_inviting_an_owner_or_someone_already_in(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    owner_role = admin.post(TEAM + "invite/", {"email": "boss@example.com", "role": "owner"})
    assert owner_role.status_code == 400
    assert b"Select a valid choice." in owner_role.content
    again = admin.post(TEAM + "invite/", {"email": "member@acme.test", "role": "viewer"})
    assert again.status_code == 400
    assert b"already a member" in again.content


def test_it_changes_a_role(team: Team, console: ConsoleFor) -> None:
    uid = team.member.pk
    response = console("admin").post(f"{TEAM}{uid}/role/", {f"m{uid}-role": "viewer"})
    assert response["Location"] == TEAM
    assert Membership.objects.for_tenant(team.tenant).get(user=team.member).role == "viewer"


def test_it_protects_the_owner(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    html = admin.get(TEAM).content.decode()
    assert "Owner: cannot be removed" in html
    assert f"/settings/team/{team.owner.pk}/remove/" not in html
    uid = team.owner.pk
    assert admin.post(f"{TEAM}{uid}/role/", {f"m{uid}-role": "viewer"}).status_code == 403
    assert admin.post(f"{TEAM}{uid}/remove/").status_code == 403
    assert Membership.objects.for_tenant(team.tenant).get(user=team.owner).role == "owner"


def test_it_asks_before_removing_then_ends_access_at_once(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    url = f"{TEAM}{team.member.pk}/remove/"
    dialog = htmx(admin, "get", url)
    assert dialog.content.startswith(b"<dialog")
    assert b"Remove member@acme.test?" in dialog.content
    assert b"<html" in admin.get(url).content
    member = console("member")
    assert member.get("/t/acme/segments/").status_code == 200
    assert admin.post(url)["Location"] == TEAM
    assert not Membership.objects.for_tenant(team.tenant).filter(user=team.member).exists()
    assert member.get("/t/acme/segments/").status_code == 404


def test_it_answers_404_for_a_link_that_does_not_work(team: Team) -> None:
    response = signed_in(team.member).get("/invitations/inv_made-up/")
    assert response.status_code == 404
    assert b"cannot be used" in response.content
