"""The user's API-keys document (seed/api-keys.txt), one test per statement it makes.

Each test quotes the statement it checks. The UI steps (Settings -> API Keys, trash icon)
have no console to test yet; everything the document says about the API is here.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.keys.format import key_is_well_formed
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import PASSWORD, Team
from segops_server.testing.keys import api_key_row, key_client

WHOAMI = "/api/auth/whoami/"
KEYS = "/api/auth/api-keys/"


def _bearer(access: str) -> APIClient:
    """Exactly what the document's curl sends: a Bearer JWT and no tenant header."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_it_gives_people_a_bearer_jwt_for_their_email_and_password(team: Team) -> None:
    """ "JWT (Bearer token) - ... obtained by logging in with email/password." """
    login = APIClient().post(
        "/api/auth/token/", {"email": "admin@acme.test", "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200
    whoami = _bearer(login.json()["access"]).get(WHOAMI)
    assert whoami.json() == {"authenticated": True, "kind": "person", "tenant": None, "scopes": []}


@pytest.mark.parametrize(("minutes_ago", "status"), [(59, 200), (61, 401)])
def test_it_lets_a_jwt_live_sixty_minutes(team: Team, minutes_ago: int, status: int) -> None:
    """ "JWT (Bearer token) - short-lived (60 min)" """
    issued_at = timezone.now() - timedelta(minutes=minutes_ago)
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=issued_at):
        access = token_pair_issue(user=team.admin)["access"]
    response = _bearer(access).get("/api/auth/me/")
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_lets_a_person_refresh_the_short_lived_jwt(team: Team) -> None:
    """ "Requires periodic refresh." """
    refresh = token_pair_issue(user=team.admin)["refresh"]
    response = APIClient().post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 200
    assert _bearer(response.json()["access"]).get("/api/auth/me/").status_code == 200


def test_it_authenticates_a_machine_with_a_tenant_scoped_apikey_header(
    team: Team, secret_key: IssuedKey
) -> None:
    """ "API Key (ApiKey header) - long-lived, tenant-scoped credentials." """
    response = APIClient().get(WHOAMI, HTTP_AUTHORIZATION=f"ApiKey {secret_key.key}")
    assert response.status_code == 200
    assert response.json()["kind"] == "api_key"
    assert response.json()["tenant"] == "acme"


def test_it_never_expires_a_key_on_its_own(team: Team, secret_key: IssuedKey) -> None:
    """ "Keys do not expire automatically - revoke them explicitly when no longer needed." """
    assert api_key_row(secret_key).expires_at is None
    ten_years_on = timezone.now() + timedelta(days=3650)
    with mock.patch("django.utils.timezone.now", return_value=ten_years_on):
        response = key_client(secret_key.key).get(WHOAMI)
    assert response.status_code == 200
    assert response.json()["authenticated"] is True


def test_it_creates_a_key_with_the_documented_request_and_answer(team: Team) -> None:
    """ "Or via the API (requires a JWT): curl -X POST .../api/auth/api-keys/ ...
    # { "id": 5, "name": "Production Ingestor", "key": "sk_live_xxxxx..." }" """
    access = token_pair_issue(user=team.admin)["access"]
    response = _bearer(access).post(
        KEYS, {"name": "Production Ingestor", "tenant_slug": "acme"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["name"] == "Production Ingestor"
    assert body["key"].startswith("sk_live_")
    assert key_is_well_formed(body["key"])
    assert key_client(body["key"]).get(WHOAMI).json()["tenant"] == "acme"


def test_it_refuses_to_create_a_key_without_a_jwt(team: Team, secret_key: IssuedKey) -> None:
    """ "(requires a JWT)": neither anonymity nor an API key will do."""
    body = {"name": "Production Ingestor", "tenant_slug": "acme"}
    assert APIClient().post(KEYS, body, format="json").status_code == 401
    assert key_client(secret_key.key).post(KEYS, body, format="json").status_code == 403


def test_it_shows_the_key_only_once(team: Team) -> None:
    """ "copy the key immediately - it is shown only once" / "(key shown once - store it immediately)" """
    admin = team.client("admin")
    created = admin.post(KEYS, {"name": "Production Ingestor", "tenant_slug": "acme"}, format="json")
    key = created.json()["key"]
    for later in (admin.get(KEYS), admin.get(f"{KEYS}{created.json()['id']}/")):
        assert later.status_code == 200
        assert key not in later.content.decode()
        assert key[len("sk_live_") :] not in later.content.decode()


@pytest.mark.parametrize("environment", ["live", "test"])
def test_it_starts_every_secret_key_with_sk(team: Team, environment: str) -> None:
    """ "All API keys start with sk_ (for "secret key")." (Public pk_ keys are a later addition, §4.)"""
    response = team.client("admin").post(KEYS, {"name": "Any", "environment": environment}, format="json")
    assert response.json()["key"].startswith(f"sk_{environment}_")


def test_it_accepts_the_key_in_the_documented_header(team: Team, secret_key: IssuedKey) -> None:
    """ "pass the key in the Authorization header as: Authorization: ApiKey sk_live_xxx" """
    headers = {"Authorization": f"ApiKey {secret_key.key}"}
    response = APIClient().get(WHOAMI, headers=headers)
    assert response.status_code == 200
    assert response.json()["authenticated"] is True


def test_it_revokes_with_the_documented_delete_and_refuses_the_next_use(
    team: Team, secret_key: IssuedKey
) -> None:
    """ "curl -X DELETE .../api/auth/api-keys/5/ -H "Authorization: Bearer $JWT""
    "Revocation is immediate - the key will return 401 on its next use." """
    user = key_client(secret_key.key)
    assert user.get(WHOAMI).status_code == 200
    access = token_pair_issue(user=team.admin)["access"]
    assert _bearer(access).delete(f"{KEYS}{secret_key.api_key.pk}/").status_code == 204
    response = user.get(WHOAMI)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_it_keeps_separate_keys_per_environment(team: Team) -> None:
    """ "Use separate keys per environment - create distinct keys for development, staging, and
    production." Each is its own credential: revoking one leaves the others working."""
    admin = team.client("admin")
    keys = {
        name: admin.post(KEYS, {"name": name, "environment": env}, format="json").json()
        for name, env in [("development", "test"), ("staging", "test"), ("production", "live")]
    }
    assert len({k["key"] for k in keys.values()}) == 3
    assert admin.delete(f"{KEYS}{keys['staging']['id']}/").status_code == 204
    assert key_client(keys["staging"]["key"]).get(WHOAMI).status_code == 401
    assert key_client(keys["development"]["key"]).get(WHOAMI).status_code == 200
    assert key_client(keys["production"]["key"]).get(WHOAMI).status_code == 200


def test_it_supports_rotation_by_revoking_and_recreating(team: Team, secret_key: IssuedKey) -> None:
    """ "Rotate regularly - revoke and re-create keys every 90 days" """
    admin = team.client("admin")
    new = admin.post(KEYS, {"name": "Production Ingestor"}, format="json").json()
    assert admin.delete(f"{KEYS}{secret_key.api_key.pk}/").status_code == 204
    assert key_client(secret_key.key).get(WHOAMI).status_code == 401
    assert key_client(new["key"]).get(WHOAMI).status_code == 200


def test_it_lists_each_key_under_its_descriptive_name(team: Team, secret_key: IssuedKey) -> None:
    """ "Audit key names - use descriptive names so you know exactly which service uses each key" """
    key_client(secret_key.key).get(WHOAMI)
    listed = team.client("admin").get(KEYS).json()["results"]
    assert [(k["name"], k["last_used_at"] is not None) for k in listed] == [("Production Ingestor", True)]
