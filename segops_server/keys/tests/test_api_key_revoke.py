"""DELETE /api/auth/api-keys/<id>/: revocation is immediate, and the next use is a 401."""

from __future__ import annotations

import pytest

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key

WHOAMI = "/api/auth/whoami/"


def _url(key_id: int) -> str:
    return f"/api/auth/api-keys/{key_id}/"


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_it_refuses_the_very_next_request_with_401(team: Team, secret_key: IssuedKey, header: str) -> None:
    value = f"ApiKey {secret_key.key}" if header == "HTTP_AUTHORIZATION" else secret_key.key
    assert key_client(secret_key.key).get(WHOAMI).status_code == 200
    response = team.client("admin").delete(_url(secret_key.api_key.pk))
    assert response.status_code == 204
    assert response.content == b""
    after = key_client(secret_key.key).get(WHOAMI, **{header: value})
    assert after.status_code == 401
    assert after["WWW-Authenticate"] == 'ApiKey realm="api"'
    assert after.json() == {"detail": "API key has been revoked."}


def test_it_marks_the_key_revoked_in_the_list(team: Team, secret_key: IssuedKey) -> None:
    team.client("owner").delete(_url(secret_key.api_key.pk))
    (item,) = team.client("owner").get("/api/auth/api-keys/").json()["results"]
    assert item["status"] == "revoked"
    assert item["revoked_at"] is not None


def test_it_leaves_the_tenants_other_keys_working(team: Team, secret_key: IssuedKey) -> None:
    other = make_api_key(team.tenant, name="Staging")
    team.client("admin").delete(_url(secret_key.api_key.pk))
    assert key_client(other.key).get(WHOAMI).json()["authenticated"] is True


def test_it_answers_204_again_and_keeps_the_first_revocation_time(team: Team, secret_key: IssuedKey) -> None:
    admin = team.client("admin")
    assert admin.delete(_url(secret_key.api_key.pk)).status_code == 204
    first = api_key_row(secret_key).revoked_at
    assert admin.delete(_url(secret_key.api_key.pk)).status_code == 204
    assert api_key_row(secret_key).revoked_at == first


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 204), ("admin", 204), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, secret_key: IssuedKey, who: str, status: int) -> None:
    assert team.client(who).delete(_url(secret_key.api_key.pk)).status_code == status
    assert key_client(secret_key.key).get(WHOAMI).status_code == (401 if status == 204 else 200)


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_it_answers_404_to_an_outsider_and_keeps_the_key_alive(
    team: Team, secret_key: IssuedKey, tenant: str
) -> None:
    response = team.client("outsider").delete(_url(secret_key.api_key.pk), HTTP_X_SEGOPS_TENANT=tenant)
    assert response.status_code == 404
    assert api_key_row(secret_key).revoked_at is None
    assert key_client(secret_key.key).get(WHOAMI).status_code == 200


def test_it_answers_404_for_a_key_that_does_not_exist(team: Team) -> None:
    assert team.client("admin").delete(_url(424_242)).status_code == 404


def test_it_refuses_an_api_key_revoking_itself(team: Team, secret_key: IssuedKey) -> None:
    assert key_client(secret_key.key).delete(_url(secret_key.api_key.pk)).status_code == 403
    assert api_key_row(secret_key).revoked_at is None
