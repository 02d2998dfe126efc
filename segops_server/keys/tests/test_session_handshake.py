"""POST /api/auth/session/: a public key, an allowed Origin and a (signed) user id mint a session."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from segops import sign_user_id

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key

URL = "/api/auth/session/"
ORIGIN = "https://app.example.com"


def _handshake(issued: IssuedKey, body: dict[str, Any], origin: str | None = ORIGIN, **extra: Any) -> Any:
    headers: dict[str, str] = {"HTTP_AUTHORIZATION": f"ApiKey {issued.key}"}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return APIClient().post(URL, body, format="json", **headers, **extra)


def _signed(issued: IssuedKey, user_id: str = "user-42", **kwargs: Any) -> dict[str, Any]:
    return sign_user_id(str(issued.hmac_secret), user_id, **kwargs)


@pytest.fixture
def open_key(team: Team) -> IssuedKey:
    """No allowlist (a mobile app) and no signing required."""
    return make_api_key(team.tenant, name="iOS", type="public")


def test_it_mints_a_fifteen_minute_session_for_a_signed_user(team: Team, public_key: IssuedKey) -> None:
    response = _handshake(public_key, _signed(public_key))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at", "uid"}
    assert body["uid"] == "user-42"
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(expires_at - (timezone.now() + timedelta(minutes=15))) < timedelta(seconds=5)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert (claims["token_type"], claims["uid"], claims["kid"]) == (
        "session",
        "user-42",
        public_key.api_key.pk,
    )


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://app.example.com", 200),
        ("https://App.Example.com", 200),
        ("https://a.example.com", 200),
        ("https://a.b.example.com", 403),
        ("https://example.com.evil.io", 403),
        ("https://evilexample.com", 403),
        ("http://app.example.com", 403),
        ("http://a.example.com", 403),
        ("https://app.example.org", 403),
        ("null", 403),
        ("", 403),
        (None, 403),
    ],
)
def test_it_checks_the_origin_against_the_allowlist(
    team: Team, public_key: IssuedKey, origin: str | None, status: int
) -> None:
    response = _handshake(public_key, _signed(public_key), origin=origin)
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "This origin is not allowed to use this public key."}


@pytest.mark.parametrize("origin", [None, "https://anything.example.net", "capacitor://localhost"])
def test_it_skips_the_origin_check_when_the_allowlist_is_empty(
    team: Team, open_key: IssuedKey, origin: str | None
) -> None:
    response = _handshake(open_key, {"user_id": "user-1"}, origin=origin)
    assert response.status_code == 200
    assert response.json()["uid"] == "user-1"


def test_it_refuses_an_unsigned_user_id_when_signing_is_required(team: Team, public_key: IssuedKey) -> None:
    response = _handshake(public_key, {"user_id": "user-42"})
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
    assert "signed user_id" in response.json()["detail"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda s: {**s, "user_id": "user-43"},
        lambda s: {**s, "user_id_sig": "0" * 64},
        lambda s: {**s, "user_id_sig": s["user_id_sig"][:-1]},
        lambda s: {**s, "user_id_sig": "zz"},
        lambda s: {**s, "user_id_sig": "é" * 64},
        lambda s: {**s, "user_id_ts": s["user_id_ts"] - 1},
        lambda s: {**s, "user_id_sig": sign_user_id("ab" * 32, "user-42", s["user_id_ts"])["user_id_sig"]},
    ],
    ids=["other-user", "zeros", "truncated", "not-hex", "non-ascii", "other-ts", "other-secret"],
)
def test_it_refuses_a_forged_signature_with_403(team: Team, public_key: IssuedKey, forge: Any) -> None:
    response = _handshake(public_key, forge(_signed(public_key)))
    assert response.status_code == 403
    assert response.json() == {"detail": "user_id_sig does not match this user_id."}


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_it_refuses_a_stale_signature_with_401(team: Team, public_key: IssuedKey, skew: int) -> None:
    response = _handshake(public_key, _signed(public_key, ts=int(time.time()) + skew))
    assert response.status_code == 401
    assert "5 minutes" in response.json()["detail"]


@pytest.mark.parametrize("skew", [-290, 290])
def test_it_accepts_a_signature_within_five_minutes(team: Team, public_key: IssuedKey, skew: int) -> None:
    response = _handshake(public_key, _signed(public_key, ts=int(time.time()) + skew))
    assert response.status_code == 200


def test_it_checks_a_signature_sent_even_when_not_required(team: Team, open_key: IssuedKey) -> None:
    signed = _signed(open_key)
    assert _handshake(open_key, signed).status_code == 200
    assert _handshake(open_key, {**signed, "user_id": "user-43"}).status_code == 403


def test_it_mints_anon_and_the_anonymous_id_when_there_is_no_user_id(
    team: Team, public_key: IssuedKey
) -> None:
    response = _handshake(public_key, {"anonymous_id": "visitor-7"})
    assert response.status_code == 200
    assert response.json()["uid"] == "anon_visitor-7"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_id": ""},
        {"anonymous_id": ""},
        {"user_id": None},
        {"user_id": "u" * 256},
        {"anonymous_id": ["a"]},
        {"user_id": "user-42", "user_id_sig": "0" * 64, "user_id_ts": "yesterday"},
        {"user_id": "user-42", "user_id_sig": "0" * 129, "user_id_ts": 1},
    ],
)
def test_it_rejects_a_malformed_body_with_400(team: Team, open_key: IssuedKey, body: dict[str, Any]) -> None:
    assert _handshake(open_key, body).status_code == 400


def test_it_refuses_a_secret_key(team: Team, secret_key: IssuedKey) -> None:
    response = _handshake(secret_key, {"user_id": "user-42"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'ApiKey realm="api"'
    assert "public keys" in response.json()["detail"]


def test_it_refuses_a_call_without_a_key(team: Team) -> None:
    response = APIClient().post(URL, {"user_id": "user-42"}, format="json", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_it_refuses_a_revoked_public_key(team: Team, public_key: IssuedKey) -> None:
    team.client("admin").delete(f"/api/auth/api-keys/{public_key.api_key.pk}/")
    response = _handshake(public_key, _signed(public_key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_it_refuses_a_persons_jwt(team: Team) -> None:
    response = team.client("admin").post(URL, {"user_id": "user-42"}, format="json", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 401
