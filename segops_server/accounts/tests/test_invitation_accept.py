"""POST /api/invitations/accept/: joining takes the invitation's token and the invited email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.accounts.models import Invitation, Membership
from segops_server.testing.factories import Team, client_for, make_user

URL = "/api/invitations/accept/"
MEMBERS = "/api/tenants/acme/members/"


def _invite(team: Team, email: str = "friend@initech.test", role: str = "member") -> dict[str, Any]:
    response = team.client("admin").post(MEMBERS, {"email": email, "role": role}, format="json")
    assert response.status_code == 201
    return dict(response.json())


def _accept(user: Any, token: Any) -> Any:
    return client_for(user).post(URL, {"token": token}, format="json")


def test_it_joins_the_invited_person_with_the_invited_role(team: Team) -> None:
    friend = make_user("friend@initech.test")
    token = _invite(team, role="viewer")["token"]
    response = _accept(friend, token)
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert response.json()["role"] == "viewer"
    assert Membership.objects.for_tenant(team.tenant).get(user=friend).role == "viewer"
    assert not Invitation.objects.for_tenant(team.tenant).exists()


def test_it_emails_the_link_and_stores_only_a_hash_of_the_token(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        body = _invite(team)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["friend@initech.test"]
    assert body["accept_url"] in mail.outbox[0].body
    assert "Acme" in mail.outbox[0].subject
    stored = Invitation.objects.for_tenant(team.tenant).get()
    assert body["token"] not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_it_is_single_use(team: Team) -> None:
    friend = make_user("friend@initech.test")
    token = _invite(team)["token"]
    assert _accept(friend, token).status_code == 200
    again = _accept(friend, token)
    assert again.status_code == 404
    assert set(again.json()) == {"detail"}


def test_it_refuses_someone_signed_in_as_another_email(team: Team) -> None:
    token = _invite(team)["token"]
    response = _accept(team.outsider, token)
    assert response.status_code == 403
    assert "another email address" in response.json()["detail"]
    assert not Membership.objects.for_tenant(team.tenant).filter(user=team.outsider).exists()
    assert Invitation.objects.for_tenant(team.tenant).exists()  # still there for the right person


def test_it_refuses_an_expired_invitation(team: Team) -> None:
    friend = make_user("friend@initech.test")
    token = _invite(team)["token"]
    Invitation.objects.for_tenant(team.tenant).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _accept(friend, token).status_code == 404
    listed = team.client("admin").get("/api/tenants/acme/invitations/").json()["results"]
    assert [i["status"] for i in listed] == ["expired"]
    assert not Membership.objects.for_tenant(team.tenant).filter(user=friend).exists()


def test_it_replaces_an_expired_invitation_with_a_new_one(team: Team) -> None:
    old = _invite(team)["token"]
    Invitation.objects.for_tenant(team.tenant).update(expires_at=timezone.now() - timedelta(seconds=1))
    new = _invite(team)["token"]
    friend = make_user("friend@initech.test")
    assert _accept(friend, old).status_code == 404
    assert _accept(friend, new).status_code == 200


def test_it_refuses_a_revoked_invitation(team: Team) -> None:
    friend = make_user("friend@initech.test")
    body = _invite(team)
    assert team.client("admin").delete(f"/api/tenants/acme/invitations/{body['id']}/").status_code == 204
    assert _accept(friend, body["token"]).status_code == 404
    assert not Membership.objects.for_tenant(team.tenant).filter(user=friend).exists()


@pytest.mark.parametrize("token", ["", "inv_made-up", "x" * 201, None, ["inv_a"], {"a": 1}])
def test_it_rejects_bad_tokens_with_a_4xx(team: Team, token: Any) -> None:
    response = _accept(team.member, token)
    assert response.status_code in (400, 404)
    assert response.json()


def test_it_keeps_the_invitation_when_the_mail_server_fails(
    team: Team, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    from unittest import mock

    with (
        mock.patch("segops_server.accounts.services.send_mail", side_effect=OSError("refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        body = _invite(team)
    assert body["token"]
    assert Invitation.objects.for_tenant(team.tenant).exists()
    assert "could not be sent" in caplog.text
    assert body["token"] not in caplog.text


def test_it_asks_an_anonymous_caller_to_sign_in(team: Team) -> None:
    token = _invite(team)["token"]
    response = APIClient().post(URL, {"token": token}, format="json")
    assert response.status_code == 401
    assert Invitation.objects.for_tenant(team.tenant).exists()


def test_it_refuses_an_api_key(team: Team) -> None:
    from segops_server.keys.services import api_key_create
    from segops_server.testing.keys import key_client

    key = api_key_create(tenant=team.tenant, created_by=team.admin, name="k", scopes=["segments:read"]).key
    token = _invite(team)["token"]
    assert key_client(key).post(URL, {"token": token}, format="json").status_code == 403


def test_it_never_replays_the_token_to_a_retried_invite(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    client = team.client("admin")
    body = {"email": "friend@initech.test", "role": "member"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(MEMBERS, body, format="json", HTTP_IDEMPOTENCY_KEY="inv-1")
        again = client.post(MEMBERS, body, format="json", HTTP_IDEMPOTENCY_KEY="inv-1")
    assert first.status_code == 201
    assert again.status_code == 409
    assert first.json()["token"] not in again.content.decode()
    assert f"invitation {first.json()['id']}" in again.json()["detail"]
    assert len(mail.outbox) == 1
