"""POST /api/auth/api-keys/revoke-leaked/: anyone who finds a key can kill it, and learns nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.audit.models import AuditEvent
from segops_server.keys.format import checksum
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client

URL = "/api/auth/api-keys/revoke-leaked/"
ANSWER = {"detail": "If this is a SegOps key, it is now revoked."}


def _report(key: Any, **extra: Any) -> Any:
    return APIClient().post(URL, {"key": key}, format="json", **extra)


def _unknown_key() -> str:
    head = "sk_live_" + "1" * 30
    return head + checksum(head)


def test_it_revokes_a_real_key_without_any_credentials(team: Team, secret_key: IssuedKey) -> None:
    response = _report(secret_key.key)
    assert response.status_code == 202
    assert response.json() == ANSWER
    after = key_client(secret_key.key).get("/api/auth/whoami/")
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_it_audits_the_revocation_as_leaked(team: Team, secret_key: IssuedKey) -> None:
    _report(f"  {secret_key.key}\n")
    events = AuditEvent.objects.for_tenant(team.tenant).filter(action="key.revoked_leaked")
    (event,) = events
    assert event.api_key_id == secret_key.api_key.pk
    assert event.key_prefix == secret_key.key[:12]
    assert event.actor is None


@pytest.mark.parametrize(
    "key",
    [_unknown_key(), "sk_live_" + "0" * 36, "not a key", "pk_test_short", "é" * 40],
    ids=["unknown", "bad-checksum", "prose", "short", "non-ascii"],
)
def test_it_gives_the_same_answer_for_keys_that_are_not_real(
    team: Team, secret_key: IssuedKey, key: str
) -> None:
    response = _report(key)
    assert response.status_code == 202
    assert response.json() == ANSWER
    assert api_key_row(secret_key).revoked_at is None


@pytest.mark.parametrize(
    "body", [{}, {"key": None}, {"key": ["a"]}, {"key": "x" * 201}, {"key": ""}, {"key": "   "}]
)
def test_it_rejects_a_malformed_body_with_400(team: Team, body: dict[str, Any]) -> None:
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert "key" in response.json()


def test_it_answers_202_again_for_an_already_revoked_key_and_audits_once(
    team: Team, secret_key: IssuedKey
) -> None:
    assert _report(secret_key.key).status_code == 202
    assert _report(secret_key.key).json() == ANSWER
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="key.revoked_leaked").count() == 1


def test_it_rate_limits_each_caller_to_ten_a_minute(team: Team) -> None:
    for _ in range(10):
        assert _report(_unknown_key()).status_code == 202
    response = _report(_unknown_key())
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # Another address still has its own allowance.
    assert _report(_unknown_key(), REMOTE_ADDR="198.51.100.9").status_code == 202
