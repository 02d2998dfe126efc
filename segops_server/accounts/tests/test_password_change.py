"""POST /api/auth/password/: a new password ends every earlier session."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import PASSWORD, Team

URL = "/api/auth/password/"
NEW_PASSWORD = "tangerine-sunset-over-9-hills"


def _change(access: str, body: dict[str, Any]) -> Any:
    return APIClient().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {access}")


def _login(email: str, password: str) -> Any:
    return APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json")


def _me(access: str) -> int:
    return APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def _refresh(raw: str) -> int:
    return APIClient().post("/api/auth/token/refresh/", {"refresh": raw}, format="json").status_code


def test_it_changes_the_password(team: Team) -> None:
    pair = token_pair_issue(user=team.member)
    response = _change(pair["access"], {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200
    team.member.refresh_from_db()
    assert team.member.check_password(NEW_PASSWORD)
    assert not team.member.check_password(PASSWORD)


def test_it_revokes_every_earlier_token_and_returns_a_working_pair(team: Team) -> None:
    other_session = token_pair_issue(user=team.member)
    pair = token_pair_issue(user=team.member)
    response = _change(pair["access"], {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    fresh = response.json()
    assert set(fresh) == {"access", "refresh"}

    for old in (pair, other_session):
        assert _me(old["access"]) == 401
        assert _refresh(old["refresh"]) == 401
    assert _me(fresh["access"]) == 200
    assert _refresh(fresh["refresh"]) == 200


def test_it_lets_the_person_sign_in_with_the_new_password_only(team: Team) -> None:
    pair = token_pair_issue(user=team.member)
    _change(pair["access"], {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    old = _login("member@acme.test", PASSWORD)
    new = _login("member@acme.test", NEW_PASSWORD)
    assert old.status_code == 401
    assert new.status_code == 200


def test_it_refuses_a_wrong_current_password(team: Team) -> None:
    pair = token_pair_issue(user=team.member)
    response = _change(pair["access"], {"current_password": "not-it", "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert list(response.json()) == ["current_password"]
    team.member.refresh_from_db()
    assert team.member.check_password(PASSWORD)
    assert _me(pair["access"]) == 200


@pytest.mark.parametrize("new_password", ["short", "password123", "98765432109876", "member@acme.test"])
def test_it_refuses_a_weak_new_password(team: Team, new_password: str) -> None:
    pair = token_pair_issue(user=team.member)
    response = _change(pair["access"], {"current_password": PASSWORD, "new_password": new_password})
    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]
    assert _me(pair["access"]) == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": PASSWORD}, {"new_password": NEW_PASSWORD}, {"current_password": None}],
)
def test_it_rejects_a_malformed_body_with_400(team: Team, body: dict[str, Any]) -> None:
    response = _change(token_pair_issue(user=team.member)["access"], body)
    assert response.status_code == 400
    assert set(response.json()) <= {"current_password", "new_password"}
    assert response.json()


def test_it_needs_a_signed_in_person(db: None) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 401
