"""POST /api/auth/api-keys/<id>/roll/: a new key now, the old one alive for a grace period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key

WHOAMI = "/api/auth/whoami/"


def _url(key_id: int) -> str:
    return f"/api/auth/api-keys/{key_id}/roll/"


def _roll(team: Team, issued: IssuedKey, **body: Any) -> Any:
    return team.client("admin").post(_url(issued.api_key.pk), body, format="json")


def test_it_issues_a_new_key_with_the_same_name_scopes_and_type(team: Team) -> None:
    old = make_api_key(team.tenant, name="Ingestor", scopes=["events:write"], environment="test")
    response = _roll(team, old, grace_period_hours=1)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    new = response.json()
    assert new["key"].startswith("sk_test_")
    assert new["key"] != old.key
    assert new["id"] != old.api_key.pk
    assert (new["name"], new["scopes"], new["type"], new["environment"]) == (
        "Ingestor",
        ["events:write"],
        "secret",
        "test",
    )
    assert key_client(new["key"]).get(WHOAMI).json()["scopes"] == ["events:write"]
    assert api_key_row(old).rolled_into_id == new["id"]


def test_it_shows_the_new_key_only_once(team: Team, secret_key: IssuedKey) -> None:
    new = _roll(team, secret_key, grace_period_hours=1).json()
    listing = team.client("admin").get("/api/auth/api-keys/")
    assert listing.json()["count"] == 2
    assert new["key"] not in listing.content.decode()
    assert secret_key.key not in listing.content.decode()


def test_it_keeps_the_old_key_working_during_the_grace_period_only(team: Team, secret_key: IssuedKey) -> None:
    _roll(team, secret_key, grace_period_hours=1)
    old = key_client(secret_key.key)
    assert old.get(WHOAMI).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=59)):
        assert old.get(WHOAMI).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=61)):
        response = old.get(WHOAMI)
    assert response.status_code == 401
    assert response.json() == {"detail": "API key has expired."}


def test_it_kills_the_old_key_at_once_with_no_grace(team: Team, secret_key: IssuedKey) -> None:
    new = _roll(team, secret_key, grace_period_hours=0).json()
    assert key_client(secret_key.key).get(WHOAMI).status_code == 401
    assert key_client(new["key"]).get(WHOAMI).status_code == 200


def test_it_gives_a_day_of_grace_by_default(team: Team, secret_key: IssuedKey) -> None:
    before = timezone.now()
    assert _roll(team, secret_key).status_code == 201
    expires_at = api_key_row(secret_key).expires_at
    assert expires_at is not None
    assert before + timedelta(hours=24) <= expires_at <= timezone.now() + timedelta(hours=24)


def test_it_never_extends_an_old_key_that_expires_sooner(team: Team) -> None:
    soon = timezone.now() + timedelta(minutes=5)
    old = make_api_key(team.tenant, expires_at=soon)
    _roll(team, old, grace_period_hours=24)
    assert api_key_row(old).expires_at == soon


def test_it_rolls_a_public_key_with_a_new_hmac_secret(team: Team, public_key: IssuedKey) -> None:
    new = _roll(team, public_key, grace_period_hours=1).json()
    assert new["key"].startswith("pk_live_")
    assert len(new["hmac_secret"]) == 64
    assert new["hmac_secret"] != public_key.hmac_secret
    assert new["allowed_origins"] == ["https://app.example.com", "https://*.example.com"]
    assert new["require_signed_user_id"] is True


def test_it_refuses_to_roll_a_revoked_key(team: Team, secret_key: IssuedKey) -> None:
    team.client("admin").delete(f"/api/auth/api-keys/{secret_key.api_key.pk}/")
    response = _roll(team, secret_key, grace_period_hours=1)
    assert response.status_code == 400
    assert response.json() == {"detail": "Only an active key can be rolled."}
    assert team.client("admin").get("/api/auth/api-keys/").json()["count"] == 1


def test_it_refuses_to_roll_an_expired_key(team: Team, secret_key: IssuedKey) -> None:
    _roll(team, secret_key, grace_period_hours=0)
    assert _roll(team, secret_key, grace_period_hours=1).status_code == 400


@pytest.mark.parametrize("grace", [-1, 721, 1.5, "a day", None, True, [1], {"hours": 1}])
def test_it_rejects_a_bad_grace_period_with_400(team: Team, secret_key: IssuedKey, grace: Any) -> None:
    response = _roll(team, secret_key, grace_period_hours=grace)
    assert response.status_code == 400
    assert "grace_period_hours" in response.json()
    assert api_key_row(secret_key).rolled_into_id is None


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 201), ("admin", 201), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, secret_key: IssuedKey, who: str, status: int) -> None:
    response = team.client(who).post(_url(secret_key.api_key.pk), {"grace_period_hours": 1}, format="json")
    assert response.status_code == status


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_it_answers_404_to_an_outsider(team: Team, secret_key: IssuedKey, tenant: str) -> None:
    response = team.client("outsider").post(
        _url(secret_key.api_key.pk), {"grace_period_hours": 0}, format="json", HTTP_X_SEGOPS_TENANT=tenant
    )
    assert response.status_code == 404
    assert "key" not in response.json()
    assert api_key_row(secret_key).expires_at is None


def test_it_refuses_an_api_key_rolling_itself(team: Team, secret_key: IssuedKey) -> None:
    response = key_client(secret_key.key).post(_url(secret_key.api_key.pk), {}, format="json")
    assert response.status_code == 403
