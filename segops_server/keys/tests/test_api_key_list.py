"""GET /api/auth/api-keys/: the tenant's keys, metadata only, for Admins and Owners."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key

URL = "/api/auth/api-keys/"
METADATA = {
    "id",
    "name",
    "type",
    "environment",
    "prefix",
    "scopes",
    "status",
    "created_at",
    "created_by",
    "last_used_at",
    "last_used_ip",
    "expires_at",
    "revoked_at",
    "rolled_into",
    "allowed_origins",
    "require_signed_user_id",
}


def test_it_lists_metadata_and_never_the_key_its_digest_or_the_hmac_secret(
    team: Team, secret_key: IssuedKey, public_key: IssuedKey
) -> None:
    response = team.client("admin").get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [set(item) for item in results] == [METADATA, METADATA]
    text = response.content.decode()
    for secret in (
        secret_key.key,
        public_key.key,
        str(public_key.hmac_secret),
        api_key_row(secret_key).digest,
        api_key_row(secret_key).digest.partition("$")[2],
    ):
        assert secret not in text


def test_it_shows_a_display_prefix_of_type_environment_and_four_characters(
    team: Team, secret_key: IssuedKey
) -> None:
    (item,) = team.client("admin").get(URL).json()["results"]
    assert item["prefix"] == secret_key.key[:12] + "…"
    assert item["prefix"].startswith("sk_live_")
    assert item["name"] == "Production Ingestor"
    assert item["created_by"] == "admin@acme.test"
    assert item["status"] == "active"
    assert item["scopes"] == [
        "events:write",
        "identity:write",
        "segments:read",
        "segments:write",
        "webhooks:write",
    ]


def test_it_lists_newest_first_in_the_page_envelope(team: Team) -> None:
    names = [make_api_key(team.tenant, name=f"key {n}").api_key.name for n in range(3)]
    body = team.client("owner").get(URL, {"page_size": 2}).json()
    assert body["count"] == 3
    assert body["next"] is not None
    assert body["previous"] is None
    assert [item["name"] for item in body["results"]] == names[::-1][:2]


def test_it_lists_only_the_tenants_own_keys(team: Team, secret_key: IssuedKey) -> None:
    make_api_key(team.other_tenant, name="Globex ingestor")
    acme = team.client("admin").get(URL).json()["results"]
    globex = team.client("outsider").get(URL).json()["results"]
    assert [item["name"] for item in acme] == ["Production Ingestor"]
    assert [item["name"] for item in globex] == ["Globex ingestor"]


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, secret_key: IssuedKey, who: str, status: int) -> None:
    response = team.client(who).get(URL)
    assert response.status_code == status
    assert secret_key.key[:12] in response.content.decode() or status == 403


def test_it_answers_404_to_an_outsider_naming_acme(team: Team, secret_key: IssuedKey) -> None:
    response = team.client("outsider").get(URL, HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}
    response = team.client("outsider").get(URL, {"tenant_slug": "acme"}, HTTP_X_SEGOPS_TENANT="")
    assert response.status_code == 404


def test_it_refuses_an_api_key(team: Team, secret_key: IssuedKey) -> None:
    response = key_client(secret_key.key).get(URL)
    assert response.status_code == 403
    assert "sign in as a person" in response.json()["detail"]


def test_it_refuses_anonymous_callers_with_401(team: Team) -> None:
    response = APIClient().get(URL, HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
