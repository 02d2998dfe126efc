"""Authenticating with a secret key: the accepted headers, and every way a key is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.keys.format import checksum
from segops_server.keys.models import ApiKey
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client

WHOAMI = "/api/auth/whoami/"
CHALLENGE = 'ApiKey realm="api"'


def _expire(issued: IssuedKey, *, ago: timedelta = timedelta(seconds=1)) -> None:
    ApiKey.objects.for_tenant(issued.api_key.tenant).filter(pk=issued.api_key.pk).update(
        expires_at=timezone.now() - ago
    )


def _assert_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"HTTP_AUTHORIZATION": f"ApiKey {key}"},
        lambda key: {"HTTP_AUTHORIZATION": f"apikey {key}"},
        lambda key: {"HTTP_X_API_KEY": key},
        lambda key: {"HTTP_X_API_KEY": f"  {key} "},
    ],
    ids=["authorization", "scheme-case", "x-api-key", "x-api-key-padded"],
)
def test_it_accepts_the_key_in_either_header(team: Team, secret_key: IssuedKey, headers: Any) -> None:
    response = APIClient().get(WHOAMI, **headers(secret_key.key))
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "kind": "api_key",
        "tenant": "acme",
        "scopes": ["events:write", "identity:write", "segments:read", "segments:write", "webhooks:write"],
    }


def test_it_answers_whoami_for_anonymous_callers(team: Team) -> None:
    assert APIClient().get(WHOAMI).json() == {
        "authenticated": False,
        "kind": None,
        "tenant": None,
        "scopes": [],
    }


@pytest.mark.parametrize("param", ["api_key", "key", "token", "anything"])
def test_it_refuses_a_key_in_the_query_string(team: Team, secret_key: IssuedKey, param: str) -> None:
    response = APIClient().get(WHOAMI, {param: secret_key.key})
    _assert_401(response)
    assert "URL" in response.json()["detail"]


def test_it_refuses_a_key_in_the_query_string_even_beside_a_good_header(
    team: Team, secret_key: IssuedKey
) -> None:
    _assert_401(key_client(secret_key.key).get(WHOAMI, {"api_key": secret_key.key}))


@pytest.mark.parametrize("kind", ["secret_key", "public_key"])
def test_it_refuses_a_key_sent_as_a_bearer_token(team: Team, kind: str, request: Any) -> None:
    issued: IssuedKey = request.getfixturevalue(kind)
    response = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    _assert_401(response)
    assert "ApiKey" in response.json()["detail"]


def _one_char_changed(key: str) -> str:
    swapped = "A" if key[20] != "A" else "B"
    return key[:20] + swapped + key[21:]


def _unknown_but_well_formed(key: str) -> str:
    head = key[:8] + "0" * 30
    return head + checksum(head)


@pytest.mark.parametrize(
    "header",
    [
        lambda key: "ApiKey",
        lambda key: "ApiKey ",
        lambda key: f"ApiKey {key} {key}",
        lambda key: f"ApiKey {key[:-1]}",
        lambda key: f"ApiKey {key}x",
        lambda key: f"ApiKey {key.upper()}",
        lambda key: f"ApiKey {_one_char_changed(key)}",
        lambda key: f"ApiKey {_unknown_but_well_formed(key)}",
        lambda key: f"ApiKey mk_live_{key[8:]}",
        lambda key: f"ApiKey sk_prod_{key[8:]}",
        lambda key: "ApiKey sk_live_",
        lambda key: "ApiKey " + "é" * 44,
        lambda key: "ApiKey " + "x" * 5000,
    ],
    ids=[
        "no-key",
        "blank-key",
        "two-keys",
        "truncated",
        "extra-char",
        "upper-cased",
        "one-char-changed",
        "unknown",
        "reserved-mk",
        "unknown-environment",
        "prefix-only",
        "non-ascii",
        "huge",
    ],
)
def test_it_refuses_a_malformed_or_unknown_key_with_401(
    team: Team, secret_key: IssuedKey, header: Any
) -> None:
    response = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=header(secret_key.key))
    _assert_401(response)
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("value", ["   ", "sk_live_short", "not a key at all", "é" * 10])
def test_it_refuses_a_bad_x_api_key_header(team: Team, value: str) -> None:
    response = APIClient().get(WHOAMI, HTTP_X_API_KEY=value)
    _assert_401(response)
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("url", [WHOAMI, "/api/tenants/", "/api/auth/api-keys/", "/api/audit-log/"])
def test_it_refuses_a_public_key_outside_the_session_handshake(
    team: Team, public_key: IssuedKey, url: str
) -> None:
    response = key_client(public_key.key).get(url)
    _assert_401(response)
    assert "/api/auth/session/" in response.json()["detail"]


def test_it_refuses_an_expired_key(team: Team, secret_key: IssuedKey) -> None:
    _expire(secret_key)
    response = key_client(secret_key.key).get(WHOAMI)
    _assert_401(response)
    assert response["WWW-Authenticate"] == CHALLENGE
    assert "expired" in response.json()["detail"]


def test_it_accepts_a_key_until_its_expiry(team: Team, secret_key: IssuedKey) -> None:
    _expire(secret_key, ago=-timedelta(minutes=1))
    assert key_client(secret_key.key).get(WHOAMI).status_code == 200


@pytest.mark.parametrize(
    "naming",
    [
        {"HTTP_X_SEGOPS_TENANT": "globex"},
        {"QUERY_STRING": "tenant_slug=globex"},
        {"QUERY_STRING": "tenant=999999"},
    ],
    ids=["header", "tenant_slug", "tenant-id"],
)
@pytest.mark.parametrize("url", [WHOAMI, "/api/auth/api-keys/", "/api/audit-log/"])
def test_it_refuses_a_key_naming_another_tenant_with_403(
    team: Team, secret_key: IssuedKey, naming: dict[str, str], url: str
) -> None:
    response = key_client(secret_key.key).get(url, **naming)
    assert response.status_code == 403
    if url == WHOAMI:
        assert response.json() == {"detail": "This API key belongs to a different tenant."}


def test_it_allows_a_key_to_name_its_own_tenant(team: Team, secret_key: IssuedKey) -> None:
    response = key_client(secret_key.key, tenant="acme").get(WHOAMI)
    assert response.json()["tenant"] == "acme"


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_it_keeps_keys_off_the_tenant_endpoints_for_people(
    team: Team, secret_key: IssuedKey, slug: str
) -> None:
    response = key_client(secret_key.key).get(f"/api/tenants/{slug}/")
    assert response.status_code == 403
    assert "Acme" not in response.content.decode()
    assert "Globex" not in response.content.decode()
