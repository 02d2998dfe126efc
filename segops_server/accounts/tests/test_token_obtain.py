"""POST /api/auth/token/: email and password in, an access and refresh pair out."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from segops_server.testing.factories import PASSWORD, Team

URL = "/api/auth/token/"


def _login(email: str, password: str, client: APIClient | None = None) -> Any:
    return (client or APIClient()).post(URL, {"email": email, "password": password}, format="json")


def test_it_returns_an_access_and_a_refresh_token(team: Team) -> None:
    response = _login("owner@acme.test", PASSWORD)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json()["user"]["email"] == "owner@acme.test"


def test_it_treats_the_email_case_insensitively(team: Team) -> None:
    assert _login("  OWNER@Acme.TEST ", PASSWORD).status_code == 200


def test_it_issues_access_tokens_that_live_sixty_minutes(team: Team) -> None:
    access = _login("owner@acme.test", PASSWORD).json()["access"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60 * 60
    assert claims["token_type"] == "access"
    assert str(claims["user_id"]) == str(team.owner.pk)
    assert claims["jti"]


def test_it_gives_the_same_401_for_an_unknown_email_and_a_wrong_password(team: Team) -> None:
    unknown = _login("nobody@acme.test", PASSWORD)
    wrong = _login("owner@acme.test", "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"detail": "No active account found with the given credentials."}
    assert unknown["WWW-Authenticate"] == wrong["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_refuses_a_deactivated_account(team: Team) -> None:
    team.member.is_active = False
    team.member.save()
    response = _login("member@acme.test", PASSWORD)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "owner@acme.test"},
        {"password": PASSWORD},
        {"email": "", "password": PASSWORD},
        {"email": "owner@acme.test", "password": ""},
        {"email": ["owner@acme.test"], "password": PASSWORD},
        {"email": "x" * 300, "password": PASSWORD},
    ],
)
def test_it_rejects_malformed_credentials_with_400(team: Team, body: dict[str, Any]) -> None:
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"email", "password"}
    assert response.json()


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_it_throttles_an_account_after_too_many_failures_even_with_the_right_password(team: Team) -> None:
    for _ in range(3):
        assert _login("owner@acme.test", "wrong-password").status_code == 401
    response = _login("owner@acme.test", PASSWORD)
    assert response.status_code == 429
    assert set(response.json()) == {"detail"}
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 901
    # Other accounts from the same address are not locked by one account's failures.
    assert _login("admin@acme.test", PASSWORD).status_code == 200


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=100, SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS=4)
def test_it_throttles_a_client_address_that_tries_many_accounts(team: Team) -> None:
    for n in range(4):
        assert _login(f"guess{n}@acme.test", "wrong-password").status_code == 401
    response = _login("owner@acme.test", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    # Another address is unaffected.
    other = _login("owner@acme.test", PASSWORD, APIClient(REMOTE_ADDR="203.0.113.9"))
    assert other.status_code == 200


@override_settings(SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT=3)
def test_it_resets_the_account_counter_after_a_successful_login(team: Team) -> None:
    for _ in range(2):
        assert _login("owner@acme.test", "wrong-password").status_code == 401
    assert _login("owner@acme.test", PASSWORD).status_code == 200
    for _ in range(2):
        assert _login("owner@acme.test", "wrong-password").status_code == 401
    # Four failures in all, but never three in a row: still allowed.
    assert _login("owner@acme.test", PASSWORD).status_code == 200
