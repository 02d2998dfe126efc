"""Every key event reaches the audit log, with the key's display prefix and never the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.keys.models import ApiKey
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

LOG = "/api/audit-log/"
WHOAMI = "/api/auth/whoami/"


def _events(team: Team, action: str) -> tuple[list[dict[str, Any]], str]:
    response = team.client("owner").get(LOG, {"action": action})
    assert response.status_code == 200
    return response.json()["results"], response.content.decode()


def _assert_no_secret(text: str, *issued: IssuedKey) -> None:
    for one in issued:
        assert one.key not in text
        assert one.key[12:] not in text
        if one.hmac_secret:
            assert one.hmac_secret not in text


def test_it_records_a_key_being_created(team: Team) -> None:
    created = team.client("admin").post(
        "/api/auth/api-keys/", {"name": "Production Ingestor"}, format="json", REMOTE_ADDR="203.0.113.5"
    )
    (event,), text = _events(team, "key.created")
    assert event["actor"] == "admin@acme.test"
    assert event["api_key_id"] == created.json()["id"]
    assert event["key_prefix"] == created.json()["key"][:12]
    assert event["client_ip"] == "203.0.113.5"
    assert event["detail"] == {"name": "Production Ingestor"}
    assert created.json()["key"] not in text


def test_it_records_a_key_being_rolled(team: Team) -> None:
    old = make_api_key(team.tenant)
    new = team.client("admin").post(
        f"/api/auth/api-keys/{old.api_key.pk}/roll/", {"grace_period_hours": 2}, format="json"
    )
    (event,), text = _events(team, "key.rolled")
    assert event["actor"] == "admin@acme.test"
    assert event["api_key_id"] == old.api_key.pk
    assert event["key_prefix"] == old.key[:12]
    assert event["detail"] == {"new_key_id": new.json()["id"], "grace_seconds": 7200}
    _assert_no_secret(text, old)
    assert new.json()["key"] not in text


def test_it_records_a_key_being_revoked(team: Team) -> None:
    issued = make_api_key(team.tenant)
    team.client("owner").delete(f"/api/auth/api-keys/{issued.api_key.pk}/")
    (event,), text = _events(team, "key.revoked")
    assert (event["actor"], event["api_key_id"], event["key_prefix"]) == (
        "owner@acme.test",
        issued.api_key.pk,
        issued.key[:12],
    )
    _assert_no_secret(text, issued)


def test_it_records_a_revoked_key_being_used(team: Team) -> None:
    issued = make_api_key(team.tenant)
    team.client("owner").delete(f"/api/auth/api-keys/{issued.api_key.pk}/")
    key_client(issued.key).get(WHOAMI, REMOTE_ADDR="198.51.100.20")
    (event,), text = _events(team, "key.used_after_revocation")
    assert event["actor"] is None
    assert event["api_key_id"] == issued.api_key.pk
    assert event["key_prefix"] == issued.key[:12]
    assert event["client_ip"] == "198.51.100.20"
    assert event["detail"] == {"reason": "API key has been revoked."}
    _assert_no_secret(text, issued)


def test_it_records_a_failed_authentication_with_the_prefix_only(team: Team) -> None:
    issued = make_api_key(team.tenant)
    ApiKey.objects.for_tenant(team.tenant).filter(pk=issued.api_key.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert key_client(issued.key).get(WHOAMI).status_code == 401
    (event,), text = _events(team, "key.auth_failed")
    assert event["key_prefix"] == issued.key[:12]
    assert event["api_key_id"] == issued.api_key.pk
    assert event["detail"] == {"reason": "API key has expired."}
    _assert_no_secret(text, issued)
    everything = team.client("owner").get(LOG).content.decode()
    _assert_no_secret(everything, issued)


def test_it_records_a_leaked_key_being_revoked(team: Team, public_key: IssuedKey) -> None:
    APIClient().post("/api/auth/api-keys/revoke-leaked/", {"key": public_key.key}, format="json")
    (event,), text = _events(team, "key.revoked_leaked")
    assert (event["actor"], event["api_key_id"], event["key_prefix"]) == (
        None,
        public_key.api_key.pk,
        public_key.key[:12],
    )
    _assert_no_secret(text, public_key)


def test_it_keeps_failures_of_keys_nobody_issued_out_of_every_tenants_log(
    team: Team, secret_key: IssuedKey
) -> None:
    typo = secret_key.key[:-1] + ("A" if secret_key.key[-1] != "A" else "B")
    assert key_client(typo).get(WHOAMI).status_code == 401
    events, _ = _events(team, "key.auth_failed")
    assert events == []
