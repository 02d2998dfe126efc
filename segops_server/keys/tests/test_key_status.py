"""A key's status is one of KeyStatus, derived from revoked_at and expires_at."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from segops_server.keys.models import ApiKey, KeyStatus


def _key(**fields: object) -> ApiKey:
    return ApiKey(name="k", **fields)


def test_it_is_active_until_revoked_or_expired() -> None:
    now = timezone.now()
    assert _key().status is KeyStatus.ACTIVE
    assert _key(expires_at=now + timedelta(hours=1)).status is KeyStatus.ACTIVE
    assert _key(expires_at=now - timedelta(seconds=1)).status is KeyStatus.EXPIRED
    assert _key(revoked_at=now, expires_at=now - timedelta(days=1)).status is KeyStatus.REVOKED


def test_it_shows_the_same_words_as_before() -> None:
    assert [s.value for s in KeyStatus] == ["active", "revoked", "expired"]
    assert str(_key().status) == "active"
