"""Creating a public (pk_) key: origin allowlist, signed-user-id switch, HMAC secret shown once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from segops_server.keys.models import ApiKey
from segops_server.testing.factories import Team

URL = "/api/auth/api-keys/"
PUBLIC = {
    "name": "Web app",
    "tenant_slug": "acme",
    "type": "public",
    "allowed_origins": ["https://app.example.com", "https://*.example.com"],
    "require_signed_user_id": True,
}


def test_it_issues_a_pk_live_key_and_a_hex_hmac_secret(team: Team) -> None:
    response = team.client("admin").post(URL, PUBLIC, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("pk_live_")
    assert re.fullmatch(r"[0-9a-f]{64}", body["hmac_secret"])
    assert body["type"] == "public"
    assert body["allowed_origins"] == ["https://app.example.com", "https://*.example.com"]
    assert body["require_signed_user_id"] is True
    assert body["scopes"] == []


def test_it_issues_pk_test_keys_for_the_test_environment(team: Team) -> None:
    body = team.client("admin").post(URL, {**PUBLIC, "environment": "test"}, format="json").json()
    assert body["key"].startswith("pk_test_")


def test_it_never_shows_the_hmac_secret_again(team: Team) -> None:
    admin = team.client("admin")
    created = admin.post(URL, PUBLIC, format="json").json()
    for later in (admin.get(URL), admin.get(f"{URL}{created['id']}/")):
        assert created["hmac_secret"] not in later.content.decode()
        assert created["key"] not in later.content.decode()
        assert "hmac_secret" not in later.content.decode()


def test_it_allows_an_empty_allowlist_for_mobile_apps(team: Team) -> None:
    body = {"name": "iOS", "type": "public"}
    created = team.client("admin").post(URL, body, format="json").json()
    assert created["allowed_origins"] == []
    assert created["require_signed_user_id"] is False


def test_it_normalises_origins(team: Team) -> None:
    body = {**PUBLIC, "allowed_origins": ["HTTPS://App.Example.com/", "http://localhost:3000"]}
    created = team.client("admin").post(URL, body, format="json").json()
    assert created["allowed_origins"] == ["https://app.example.com", "http://localhost:3000"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/path",
        "app.example.com",
        "ftp://app.example.com",
        "http://*.example.com",
        "*",
        "https://*",
        "https://*.*.example.com",
        "https://app.*.example.com",
        "https://",
        "https://app.example.com?x=1",
        "https://app.example.com#top",
        "",
        "javascript:alert(1)",
    ],
)
def test_it_rejects_a_bad_origin_with_400(team: Team, origin: str) -> None:
    response = team.client("admin").post(URL, {**PUBLIC, "allowed_origins": [origin]}, format="json")
    assert response.status_code == 400
    assert "allowed_origins" in response.json()
    assert ApiKey.objects.for_tenant(team.tenant).count() == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"allowed_origins": ["https://app.example.com"]},
        {"require_signed_user_id": True},
        {"type": "secret", "allowed_origins": ["https://app.example.com"]},
    ],
)
def test_it_refuses_public_key_settings_on_a_secret_key(team: Team, extra: dict[str, Any]) -> None:
    response = team.client("admin").post(URL, {"name": "Server", **extra}, format="json")
    assert response.status_code == 400
    assert "public keys only" in str(response.json())


@pytest.mark.parametrize(
    "body",
    [
        {"allowed_origins": "https://app.example.com"},
        {"allowed_origins": [None]},
        {"allowed_origins": ["https://a.example.com"] * 51},
        {"require_signed_user_id": "sometimes"},
        {"type": "private"},
    ],
)
def test_it_rejects_malformed_public_key_input_with_400(team: Team, body: dict[str, Any]) -> None:
    response = team.client("admin").post(URL, {**PUBLIC, **body}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 201), ("admin", 201), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, who: str, status: int) -> None:
    assert team.client(who).post(URL, PUBLIC, format="json").status_code == status
