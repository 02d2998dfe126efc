"""GET /api/auth/api-keys/<id>/: one key's metadata; another tenant's key does not exist."""

from __future__ import annotations

import pytest

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key


def _url(key_id: int) -> str:
    return f"/api/auth/api-keys/{key_id}/"


def test_it_shows_the_metadata_and_never_the_key(team: Team, secret_key: IssuedKey) -> None:
    response = team.client("admin").get(_url(secret_key.api_key.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == secret_key.api_key.pk
    assert body["name"] == "Production Ingestor"
    assert body["prefix"] == secret_key.key[:12] + "…"
    assert not {"key", "digest", "hmac_secret"} & set(body)
    text = response.content.decode()
    assert secret_key.key not in text
    assert api_key_row(secret_key).digest.partition("$")[2] not in text


def test_it_never_shows_a_public_keys_hmac_secret_again(team: Team, public_key: IssuedKey) -> None:
    response = team.client("admin").get(_url(public_key.api_key.pk))
    assert response.status_code == 200
    assert response.json()["allowed_origins"] == ["https://app.example.com", "https://*.example.com"]
    assert str(public_key.hmac_secret) not in response.content.decode()
    assert public_key.key not in response.content.decode()


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, secret_key: IssuedKey, who: str, status: int) -> None:
    assert team.client(who).get(_url(secret_key.api_key.pk)).status_code == status


def test_it_answers_404_for_a_key_that_does_not_exist(team: Team) -> None:
    response = team.client("admin").get(_url(999_999))
    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found."}


def test_it_answers_404_to_an_outsider_naming_acme(team: Team, secret_key: IssuedKey) -> None:
    response = team.client("outsider").get(_url(secret_key.api_key.pk), HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}


def test_it_answers_404_to_an_outsider_naming_globex_with_acmes_key_id(
    team: Team, secret_key: IssuedKey
) -> None:
    response = team.client("outsider").get(_url(secret_key.api_key.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found."}
    assert "Production Ingestor" not in response.content.decode()


def test_it_answers_404_to_acme_asking_for_a_globex_key(team: Team) -> None:
    globex_key = make_api_key(team.other_tenant, name="Globex ingestor")
    response = team.client("owner").get(_url(globex_key.api_key.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found."}


def test_it_refuses_an_api_key_even_for_itself(team: Team, secret_key: IssuedKey) -> None:
    assert key_client(secret_key.key).get(_url(secret_key.api_key.pk)).status_code == 403
