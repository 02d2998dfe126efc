"""`Authorization: Bearer <access>`: only a genuine, live, HS256 access token lets a person in."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from unittest import mock

import jwt
import pytest
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import AccessToken

from segops_server.accounts.authentication import PersonJWTAuthentication
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team

URL = "/api/auth/me/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _sign(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def _get(authorization: str | None) -> Any:
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    return APIClient().get(URL, **extra)


def _assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert set(response.json()) == {"detail"}


def test_it_lets_a_valid_bearer_token_in(team: Team) -> None:
    response = _get(f"Bearer {token_pair_issue(user=team.member)['access']}")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "member@acme.test"


def test_it_asks_for_credentials_when_there_are_none(db: None) -> None:
    response = _get(None)
    _assert_refused(response)


def test_it_refuses_an_unsigned_alg_none_token(team: Team) -> None:
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    _assert_refused(_get(f"Bearer {header}.{payload}."))


def test_it_refuses_a_payload_swapped_under_a_valid_signature(team: Team) -> None:
    access = token_pair_issue(user=team.viewer)["access"]
    header, _payload, signature = access.split(".")
    claims = {**_claims(access), "user_id": str(team.owner.pk)}
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    _assert_refused(_get(f"Bearer {forged}"))


def test_it_refuses_a_tampered_signature(team: Team) -> None:
    access = token_pair_issue(user=team.owner)["access"]
    header, payload, signature = access.split(".")
    other = _b64(bytes(b ^ 0xFF for b in base64.urlsafe_b64decode(signature + "==")))
    _assert_refused(_get(f"Bearer {header}.{payload}.{other}"))


def test_it_refuses_a_token_signed_with_another_key(team: Team) -> None:
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    _assert_refused(_get(f"Bearer {_sign(claims, key='another-key-' + 'x' * 40)}"))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_it_refuses_another_algorithm_even_with_the_right_key(team: Team, algorithm: str) -> None:
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    _assert_refused(_get(f"Bearer {_sign(claims, algorithm=algorithm)}"))


def test_it_accepts_a_token_re_signed_with_the_pinned_algorithm(team: Team) -> None:
    # The control for the tests above: the same claims, signed as the server signs, pass.
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    assert _get(f"Bearer {_sign(claims)}").status_code == 200


def test_it_refuses_an_expired_token(team: Team) -> None:
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    now = int(time.time())
    expired = _sign({**claims, "iat": now - 3700, "exp": now - 100})
    _assert_refused(_get(f"Bearer {expired}"))


@pytest.mark.parametrize("claim", ["exp", "jti", "token_type", "user_id", "iat", "gen"])
def test_it_refuses_a_token_missing_a_required_claim(team: Team, claim: str) -> None:
    claims = _claims(token_pair_issue(user=team.owner)["access"])
    del claims[claim]
    _assert_refused(_get(f"Bearer {_sign(claims)}"))


def test_it_refuses_a_refresh_token_used_as_an_access_token(team: Team) -> None:
    refresh = token_pair_issue(user=team.owner)["refresh"]
    _assert_refused(_get(f"Bearer {refresh}"))


def test_it_refuses_a_token_of_a_deactivated_person(team: Team) -> None:
    access = token_pair_issue(user=team.member)["access"]
    team.member.is_active = False
    team.member.save()
    _assert_refused(_get(f"Bearer {access}"))


def test_it_refuses_a_token_of_a_deleted_person(team: Team) -> None:
    access = token_pair_issue(user=team.member)["access"]
    team.member.delete()
    _assert_refused(_get(f"Bearer {access}"))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer one two",
        "Bearer " + "x" * 5000,
    ],
)
def test_it_refuses_a_malformed_bearer_header(db: None, authorization: str) -> None:
    _assert_refused(_get(authorization))


def test_it_ignores_an_unknown_scheme_and_asks_for_credentials(db: None) -> None:
    response = _get("Basic b3duZXI6cGFzcw==")
    _assert_refused(response)


def _outcome(authentication: Any, token: AccessToken) -> Any:
    try:
        return authentication.get_user(token).pk
    except (AuthenticationFailed, InvalidToken):
        return "refused"
    except ValueError:
        return "ValueError"


def test_it_finds_the_person_as_simplejwt_does(team: Team) -> None:
    """The written-out read of the person's row answers as simplejwt's own get_user, whatever the
    (signed) id claim holds."""
    team.viewer.is_active = False
    team.viewer.save()
    ours, theirs = PersonJWTAuthentication(), JWTAuthentication()
    owner, viewer = team.owner.pk, team.viewer.pk
    claims: list[Any] = [owner, viewer, 10**9, 2**70, -1, True, None, "x", "", "-1", " 1", "\u0663"]
    claims += [str(owner), str(viewer), f"00{owner}", str(10**9), "9" * 19, "9" * 20, "9" * 5000]
    for claim in [*claims, "absent"]:
        token = AccessToken.for_user(team.owner)
        if claim == "absent":
            del token["user_id"]
        else:
            token["user_id"] = claim
        assert _outcome(ours, token) == _outcome(theirs, token), claim


def test_it_reads_the_row_of_its_own_tokens_without_the_orm(team: Team) -> None:
    token = AccessToken.for_user(team.owner)  # simplejwt writes the id as a string
    assert token["user_id"] == str(team.owner.pk)
    with mock.patch.object(JWTAuthentication, "get_user", side_effect=AssertionError("the ORM's way")):
        assert PersonJWTAuthentication().get_user(token) == team.owner
