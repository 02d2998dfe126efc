"""POST /api/auth/token/refresh/: rotation, the grace window, and revocation on reuse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import jwt
import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.accounts.models import TokenFamily
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team

URL = "/api/auth/token/refresh/"


def _refresh(raw: Any) -> Any:
    return APIClient().post(URL, {"refresh": raw}, format="json")


def _me(access: str) -> int:
    return APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def _assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert set(response.json()) == {"detail"}


def test_it_rotates_the_pair(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    response = _refresh(first["refresh"])
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert second["access"] != first["access"]
    assert _me(second["access"]) == 200
    old = jwt.decode(first["refresh"], options={"verify_signature": False})
    new = jwt.decode(second["refresh"], options={"verify_signature": False})
    assert new["fam"] == old["fam"]
    assert new["jti"] != old["jti"]


def test_it_lets_a_parallel_refresh_reuse_the_old_token_within_the_grace_window(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    assert _refresh(first["refresh"]).status_code == 200
    again = _refresh(first["refresh"])
    assert again.status_code == 200
    assert _me(again.json()["access"]) == 200


def test_it_revokes_the_family_when_a_spent_token_comes_back_after_the_grace_window(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    second = _refresh(first["refresh"]).json()
    later = timezone.now() + timedelta(seconds=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        replay = _refresh(first["refresh"])
    _assert_refused(replay)
    # The thief's copy and the rightful owner's newest token are both dead now.
    _assert_refused(_refresh(second["refresh"]))
    family = TokenFamily.objects.get(user=team.owner)
    assert family.revoked_reason == "reuse_detected"


@override_settings(SEGOPS_REFRESH_REUSE_GRACE_SECONDS=0)
def test_it_revokes_at_once_when_the_grace_window_is_zero(team: Team) -> None:
    first = token_pair_issue(user=team.owner)
    second = _refresh(first["refresh"]).json()
    _assert_refused(_refresh(first["refresh"]))
    _assert_refused(_refresh(second["refresh"]))


def test_it_leaves_the_persons_other_sessions_alone_on_reuse(team: Team) -> None:
    other_session = token_pair_issue(user=team.owner)
    first = token_pair_issue(user=team.owner)
    _refresh(first["refresh"])
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=5)):
        _refresh(first["refresh"])
    assert _refresh(other_session["refresh"]).status_code == 200


def test_it_refuses_an_access_token_as_a_refresh_token(team: Team) -> None:
    _assert_refused(_refresh(token_pair_issue(user=team.owner)["access"]))


def test_it_refuses_a_refresh_token_of_a_deactivated_person(team: Team) -> None:
    pair = token_pair_issue(user=team.member)
    team.member.is_active = False
    team.member.save()
    _assert_refused(_refresh(pair["refresh"]))


def test_it_refuses_a_refresh_token_of_an_unknown_family(team: Team) -> None:
    pair = token_pair_issue(user=team.member)
    TokenFamily.objects.filter(user=team.member).delete()
    _assert_refused(_refresh(pair["refresh"]))


@pytest.mark.parametrize("raw", ["garbage", "a.b.c", "x" * 2000])
def test_it_refuses_a_token_that_is_not_a_jwt(db: None, raw: str) -> None:
    _assert_refused(_refresh(raw))


@pytest.mark.parametrize("body", [{}, {"refresh": ""}, {"refresh": None}, {"refresh": "x" * 5000}])
def test_it_rejects_a_malformed_body_with_400(db: None, body: dict[str, Any]) -> None:
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["refresh"]
