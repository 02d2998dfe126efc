"""POST /api/auth/api-keys/: an Admin or Owner creates a key and sees it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.keys.format import key_is_well_formed
from segops_server.keys.models import ApiKey
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client

URL = "/api/auth/api-keys/"
WHOAMI = "/api/auth/whoami/"
EVERY_SCOPE = ["events:write", "identity:write", "segments:read", "segments:write", "webhooks:write"]


def _keys_of(tenant: Any) -> list[ApiKey]:
    return list(ApiKey.objects.for_tenant(tenant))


def test_it_answers_201_with_the_key_and_its_metadata(team: Team) -> None:
    response = team.client("admin").post(URL, {"name": "Production Ingestor"}, format="json")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert {"id", "name", "key", "type", "environment", "prefix", "scopes", "created_at"} <= set(body)
    assert body["name"] == "Production Ingestor"
    assert body["type"] == "secret"
    assert body["environment"] == "live"
    assert body["created_by"] == "admin@acme.test"
    assert body["expires_at"] is None
    assert body["revoked_at"] is None
    assert body["prefix"] == body["key"][:12] + "…"
    assert "hmac_secret" not in body
    assert "digest" not in body
    assert key_is_well_formed(body["key"])


@pytest.mark.parametrize(
    ("environment", "prefix"), [(None, "sk_live_"), ("live", "sk_live_"), ("test", "sk_test_")]
)
def test_it_prefixes_the_key_with_its_type_and_environment(
    team: Team, environment: str | None, prefix: str
) -> None:
    body: dict[str, Any] = {"name": "Per environment"}
    if environment:
        body["environment"] = environment
    created = team.client("admin").post(URL, body, format="json").json()
    assert created["key"].startswith(prefix)
    assert created["environment"] == (environment or "live")


def test_it_creates_a_working_key_in_the_named_tenant(team: Team) -> None:
    created = team.client("owner").post(URL, {"name": "CI", "tenant_slug": "acme"}, format="json").json()
    assert [k.pk for k in _keys_of(team.tenant)] == [created["id"]]
    assert _keys_of(team.other_tenant) == []
    assert key_client(created["key"]).get(WHOAMI).json()["tenant"] == "acme"


def test_it_grants_every_scope_by_default(team: Team) -> None:
    created = team.client("admin").post(URL, {"name": "Everything"}, format="json").json()
    assert created["scopes"] == EVERY_SCOPE
    assert key_client(created["key"]).get(WHOAMI).json()["scopes"] == EVERY_SCOPE


def test_it_keeps_only_the_scopes_asked_for(team: Team) -> None:
    body = {"name": "Ingest only", "scopes": ["events:write", "events:write"]}
    created = team.client("admin").post(URL, body, format="json").json()
    assert created["scopes"] == ["events:write"]
    assert key_client(created["key"]).get(WHOAMI).json()["scopes"] == ["events:write"]


def test_it_accepts_an_expiry_in_the_future(team: Team) -> None:
    expires_at = timezone.now() + timedelta(days=30)
    body = {"name": "Temporary", "expires_at": expires_at.isoformat()}
    created = team.client("admin").post(URL, body, format="json").json()
    assert created["expires_at"] is not None
    assert key_client(created["key"]).get(WHOAMI).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "k", "type": "master"}, "type"),
        ({"name": "k", "environment": "production"}, "environment"),
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "k", "scopes": ["admin"]}, "scopes"),
        ({"name": "k", "scopes": ["events:write", "everything"]}, "scopes"),
        ({"name": "k", "scopes": "events:write"}, "scopes"),
        ({"name": "k", "scopes": [{"scope": "events:write"}]}, "scopes"),
        ({"name": "k", "expires_at": "next tuesday"}, "expires_at"),
        ({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "k", "tenant": "acme"}, "tenant"),
    ],
)
def test_it_rejects_malformed_input_with_400(team: Team, body: dict[str, Any], field: str) -> None:
    response = team.client("admin").post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _keys_of(team.tenant) == []


def test_it_refuses_an_expiry_that_has_already_passed(team: Team) -> None:
    past = (timezone.now() - timedelta(seconds=1)).isoformat()
    response = team.client("admin").post(URL, {"name": "Stale", "expires_at": past}, format="json")
    assert response.status_code == 400
    assert response.json() == {"expires_at": ["Must be in the future."]}


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 201), ("admin", 201), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, who: str, status: int) -> None:
    response = team.client(who).post(URL, {"name": "By role"}, format="json")
    assert response.status_code == status
    assert len(_keys_of(team.tenant)) == (1 if status == 201 else 0)
    if status == 403:
        assert "Admin" in response.json()["detail"]


def test_it_refuses_an_api_key_even_one_of_the_same_tenant(team: Team, secret_key: IssuedKey) -> None:
    response = key_client(secret_key.key).post(URL, {"name": "Minted by a key"}, format="json")
    assert response.status_code == 403
    assert len(_keys_of(team.tenant)) == 1


def test_it_refuses_anonymous_callers_with_401(team: Team) -> None:
    response = APIClient().post(URL, {"name": "Anonymous", "tenant_slug": "acme"}, format="json")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


@pytest.mark.parametrize("naming", [{"HTTP_X_SEGOPS_TENANT": "acme"}, {}])
def test_it_answers_404_to_an_outsider_naming_acme(team: Team, naming: dict[str, str]) -> None:
    client = team.client("outsider")
    body: dict[str, Any] = {"name": "Intruder"}
    if not naming:
        body["tenant_slug"] = "acme"
        client.defaults.pop("HTTP_X_SEGOPS_TENANT")
    response = client.post(URL, body, format="json", **naming)
    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}
    assert _keys_of(team.tenant) == []
    assert _keys_of(team.other_tenant) == []
