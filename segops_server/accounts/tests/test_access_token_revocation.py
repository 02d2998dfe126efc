"""An access token dies with its family: logout and refresh-token reuse end it at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from segops_server.accounts.models import TokenFamily, UsedRefreshToken
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team


def _me(access: str) -> Any:
    return APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def _post(path: str, refresh: str) -> Any:
    return APIClient().post(path, {"refresh": refresh}, format="json")


def test_it_refuses_the_access_token_of_a_logged_out_family(team: Team) -> None:
    pair = token_pair_issue(user=team.owner)
    assert _me(pair["access"]).status_code == 200
    assert _post("/api/auth/logout/", pair["refresh"]).status_code == 204
    refused = _me(pair["access"])
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Access token has been revoked."}
    assert "WWW-Authenticate" in refused


def test_it_refuses_every_access_token_of_a_family_revoked_for_reuse(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    second = _post("/api/auth/token/refresh/", first["refresh"]).json()
    UsedRefreshToken.objects.update(used_at=UsedRefreshToken.objects.get().used_at - timedelta(minutes=5))
    assert _post("/api/auth/token/refresh/", first["refresh"]).status_code == 401  # a replay
    assert TokenFamily.objects.get().revoked_reason == "reuse_detected"
    assert _me(first["access"]).status_code == 401
    assert _me(second["access"]).status_code == 401


def test_it_keeps_other_sessions_of_the_person_working(team: Team) -> None:
    kept = token_pair_issue(user=team.owner)
    ended = token_pair_issue(user=team.owner)
    assert _post("/api/auth/logout/", ended["refresh"]).status_code == 204
    assert _me(kept["access"]).status_code == 200


def test_it_answers_2xx_to_logout_with_a_revoked_refresh_token(team: Team) -> None:
    refresh = token_pair_issue(user=team.owner)["refresh"]
    assert _post("/api/auth/logout/", refresh).status_code == 204
    assert _post("/api/auth/logout/", refresh).status_code == 204


def test_it_answers_2xx_to_logout_with_an_expired_or_unknown_token(team: Team) -> None:
    expired = RefreshToken.for_user(team.owner)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    assert _post("/api/auth/logout/", str(expired)).status_code == 204
    assert _post("/api/auth/logout/", "not-a-token").status_code == 204
    assert _post("/api/auth/logout/", token_pair_issue(user=team.owner)["access"]).status_code == 204


@pytest.mark.parametrize("family", [None, "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_it_refuses_an_access_token_without_a_live_family_of_its_own(team: Team, family: Any) -> None:
    claims = jwt.decode(token_pair_issue(user=team.owner)["access"], options={"verify_signature": False})
    if family is None:
        del claims["fam"]
    else:
        claims["fam"] = family
    forged = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    assert _me(forged).status_code == 401


def test_it_refuses_another_persons_family(team: Team) -> None:
    theirs = jwt.decode(token_pair_issue(user=team.member)["access"], options={"verify_signature": False})
    claims = jwt.decode(token_pair_issue(user=team.owner)["access"], options={"verify_signature": False})
    claims["fam"] = theirs["fam"]
    forged = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    assert _me(forged).status_code == 401
