"""A secret is shown once: a retried key creation or roll never answers with the secret again."""

from __future__ import annotations

from typing import Any

from segops_server.core.models import IdempotentResponse
from segops_server.keys.models import ApiKey
from segops_server.testing.factories import Team

URL = "/api/auth/api-keys/"


def _post(team: Team, url: str, body: dict[str, Any], key: str = "retry-1") -> Any:
    return team.client("admin").post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _stored_bodies() -> str:
    return " ".join(str(body) for body in IdempotentResponse.objects.values_list("body", flat=True))


def test_it_answers_409_to_a_retried_creation_without_the_key(team: Team) -> None:
    first = _post(team, URL, {"name": "Ingest"})
    assert first.status_code == 201
    again = _post(team, URL, {"name": "Ingest"})
    assert again.status_code == 409
    assert set(again.json()) == {"detail"}
    assert first.json()["key"] not in again.content.decode()
    assert f"API key {first.json()['id']}" in again.json()["detail"]
    assert again["Cache-Control"] == "no-store"
    assert ApiKey.objects.for_tenant(team.tenant).count() == 1  # acted once


def test_it_never_stores_a_secret_in_the_replay_record(team: Team) -> None:
    secret = _post(team, URL, {"name": "Ingest"}, key="k-secret").json()
    public = _post(team, URL, {"name": "Browser", "type": "public"}, key="k-public").json()
    rolled = _post(team, f"{URL}{secret['id']}/roll/", {}, key="k-roll").json()
    stored = _stored_bodies()
    for value in (secret["key"], public["key"], public["hmac_secret"], rolled["key"]):
        assert value not in stored


def test_it_answers_409_to_a_retried_roll_even_after_revocation(team: Team) -> None:
    created = _post(team, URL, {"name": "Ingest"}, key="k-create").json()
    rolled = _post(team, f"{URL}{created['id']}/roll/", {}, key="k-roll")
    assert rolled.status_code == 201
    team.client("admin").delete(f"{URL}{rolled.json()['id']}/")
    again = _post(team, f"{URL}{created['id']}/roll/", {}, key="k-roll")
    assert again.status_code == 409
    assert rolled.json()["key"] not in again.content.decode()


def test_it_forgets_replay_records_stored_with_a_secret(team: Team) -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("segops_server.accounts.migrations.0003_forget_replayed_secrets")
    old = {"tenant_id": team.tenant.pk, "principal": "user:1", "fingerprint": "f", "status_code": 201}
    IdempotentResponse.objects.create(key="a", body={"id": 1, "key": "sk_live_x"}, **old)
    IdempotentResponse.objects.create(key="b", body={"id": 2, "hmac_secret": "ab"}, **old)
    IdempotentResponse.objects.create(key="c", body={"id": 3, "name": "Buyers"}, **old)
    migration.forget(apps, None)
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["c"]
