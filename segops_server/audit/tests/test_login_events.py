"""Sign-ins and failed sign-ins reach the audit log of every tenant the person belongs to."""

from __future__ import annotations

from rest_framework.test import APIClient

from segops_server.testing.factories import PASSWORD, Team, add_member

LOG = "/api/audit-log/"


def _login(email: str, password: str) -> int:
    response = APIClient().post(
        "/api/auth/token/", {"email": email, "password": password}, format="json", REMOTE_ADDR="203.0.113.9"
    )
    return response.status_code


def test_it_records_a_sign_in(team: Team) -> None:
    assert _login("member@acme.test", PASSWORD) == 200
    (event,) = team.client("owner").get(LOG, {"action": "auth.login"}).json()["results"]
    assert event["actor"] == "member@acme.test"
    assert event["client_ip"] == "203.0.113.9"


def test_it_records_a_failed_sign_in_without_the_password(team: Team) -> None:
    assert _login("member@acme.test", "a-wrong-password") == 401
    response = team.client("owner").get(LOG, {"action": "auth.login_failed"})
    (event,) = response.json()["results"]
    assert event["actor"] == "member@acme.test"
    assert event["detail"] == {"email": "member@acme.test"}
    assert "a-wrong-password" not in response.content.decode()


def test_it_records_sign_ins_in_each_of_the_persons_tenants(team: Team) -> None:
    add_member(team.other_tenant, team.member)
    _login("member@acme.test", PASSWORD)
    acme = team.client("owner").get(LOG, {"action": "auth.login"}).json()["results"]
    globex = team.client("outsider").get(LOG, {"action": "auth.login"}).json()["results"]
    assert [e["actor"] for e in acme] == [e["actor"] for e in globex] == ["member@acme.test"]


def test_it_keeps_a_sign_in_out_of_tenants_the_person_is_not_in(team: Team) -> None:
    _login("member@acme.test", PASSWORD)
    _login("member@acme.test", "a-wrong-password")
    assert team.client("outsider").get(LOG).json()["results"] == []


def test_it_records_nothing_for_an_unknown_email(team: Team) -> None:
    _login("nobody@acme.test", PASSWORD)
    assert team.client("owner").get(LOG, {"action": "auth.login_failed"}).json()["results"] == []
