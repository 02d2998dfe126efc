"""POST /api/auth/logout/: the refresh token's whole family stops working."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team

URL = "/api/auth/logout/"


def _post(url: str, refresh: Any) -> Any:
    return APIClient().post(url, {"refresh": refresh}, format="json")


def test_it_revokes_the_refresh_token_and_its_family(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    second = _post("/api/auth/token/refresh/", first["refresh"]).json()

    response = _post(URL, second["refresh"])
    assert response.status_code == 204
    assert response.content == b""

    for spent in (second["refresh"], first["refresh"]):
        refused = _post("/api/auth/token/refresh/", spent)
        assert refused.status_code == 401
        assert "WWW-Authenticate" in refused


def test_it_leaves_other_sessions_signed_in(team: Team) -> None:
    kept = token_pair_issue(user=team.owner)
    assert _post(URL, token_pair_issue(user=team.owner)["refresh"]).status_code == 204
    assert _post("/api/auth/token/refresh/", kept["refresh"]).status_code == 200


def test_it_answers_a_second_logout_with_the_same_token_with_204(team: Team) -> None:
    refresh = token_pair_issue(user=team.owner)["refresh"]
    assert _post(URL, refresh).status_code == 204
    assert _post(URL, refresh).status_code == 204  # RFC 7009: already revoked is not an error


def test_it_revokes_nothing_for_a_token_that_is_not_a_refresh_token(team: Team) -> None:
    pair = token_pair_issue(user=team.owner)
    response = _post(URL, pair["access"])
    assert response.status_code == 204
    assert _post("/api/auth/token/refresh/", pair["refresh"]).status_code == 200


def test_it_rejects_a_missing_token_with_400(db: None) -> None:
    response = APIClient().post(URL, {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["refresh"]
