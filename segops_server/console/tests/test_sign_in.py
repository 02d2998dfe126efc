"""Sign-in and sign-out at /sign-in/ and /sign-out/: Django sessions, the API's throttles, the audit log."""

from __future__ import annotations

from django.test import Client, override_settings

from segops_server.audit.models import Action, AuditEvent
from segops_server.console.tests.conftest import signed_in
from segops_server.testing.factories import PASSWORD, Team, make_user


def test_it_sends_strangers_from_the_root_to_sign_in(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"


def test_it_sends_a_stranger_on_a_tenant_page_to_sign_in_and_back(team: Team) -> None:
    response = Client().get("/t/acme/settings/api-keys/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/t/acme/settings/api-keys/"


def test_it_signs_in_and_opens_the_first_workspace(team: Team) -> None:
    client = Client()
    response = client.post("/sign-in/", {"email": "Owner@Acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/t/acme/"
    assert client.get("/t/acme/").status_code == 200  # the dashboard


def test_it_follows_a_local_next_url_only(team: Team) -> None:
    local = Client().post(
        "/sign-in/", {"email": "owner@acme.test", "password": PASSWORD, "next": "/t/acme/explorer/"}
    )
    assert local["Location"] == "/t/acme/explorer/"
    elsewhere = Client().post(
        "/sign-in/", {"email": "owner@acme.test", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == "/"


def test_it_says_the_same_for_a_wrong_password_and_an_unknown_email(team: Team) -> None:
    wrong = Client().post("/sign-in/", {"email": "owner@acme.test", "password": "nope-nope-nope"})
    unknown = Client().post("/sign-in/", {"email": "nobody@acme.test", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert b"Wrong email or password." in wrong.content
    assert b"Wrong email or password." in unknown.content
    assert "_auth_user_id" not in wrong.wsgi_request.session


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=2)
def test_it_throttles_failed_sign_ins_like_the_api(team: Team) -> None:
    for _ in range(2):
        Client().post("/sign-in/", {"email": "owner@acme.test", "password": "wrong-password-1"})
    response = Client().post("/sign-in/", {"email": "owner@acme.test", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content


def test_it_records_sign_ins_and_failures_in_the_audit_log(team: Team) -> None:
    Client().post("/sign-in/", {"email": "owner@acme.test", "password": "wrong-password-1"})
    Client().post("/sign-in/", {"email": "owner@acme.test", "password": PASSWORD})
    actions = list(AuditEvent.objects.for_tenant(team.tenant).values_list("action", flat=True))
    assert Action.LOGIN_FAILED in actions
    assert Action.LOGIN in actions


def test_it_refuses_an_inactive_account(db: None) -> None:
    user = make_user("gone@acme.test")
    user.is_active = False
    user.save()
    response = Client().post("/sign-in/", {"email": "gone@acme.test", "password": PASSWORD})
    assert response.status_code == 400


def test_it_signs_out_on_post_only(team: Team) -> None:
    client = signed_in(team.owner)
    assert client.get("/sign-out/").status_code == 405
    assert client.get("/t/acme/segments/").status_code == 200
    response = client.post("/sign-out/")
    assert response["Location"] == "/sign-in/"
    assert client.get("/t/acme/segments/").status_code == 302


def test_it_offers_a_new_workspace_to_someone_without_one(db: None) -> None:
    client = signed_in(make_user("alone@example.com"))
    assert client.get("/")["Location"] == "/workspaces/new/"
    page = client.get("/workspaces/new/")
    assert b"You do not belong to any workspace yet" in page.content
    response = client.post("/workspaces/new/", {"name": "Solo", "slug": "solo"})
    assert response["Location"] == "/t/solo/"
    assert client.get("/t/solo/settings/general/").status_code == 200


def test_it_refuses_a_taken_slug_for_a_new_workspace(team: Team) -> None:
    response = signed_in(team.outsider).post("/workspaces/new/", {"name": "Acme 2", "slug": "acme"})
    assert response.status_code == 400
    assert b"This slug is already taken." in response.content
