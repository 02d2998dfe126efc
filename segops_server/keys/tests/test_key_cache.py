from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from segops_server.keys import cache as key_cache
from segops_server.keys.services import api_key_create, api_key_revoke
from segops_server.testing.factories import Team, client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(tmp_path: Any) -> Any:
    with override_settings(SEGOPS_KEY_CACHE=True, DATA_DIR=tmp_path):
        key_cache.clear()
        yield
        key_cache.clear()


def _machine(key: str) -> Any:
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    return client


def _key_queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/auth/whoami/").status_code == 200
    return sum("keys_apikey" in q["sql"] for q in queries.captured_queries)


def test_it_verifies_a_cached_key_without_reading_the_database(team: Team) -> None:
    key = api_key_create(tenant=team.tenant, created_by=team.admin, name="c", scopes=["segments:read"]).key
    client = _machine(key)
    assert _key_queries(client) >= 1  # first use reads the row (and records last use)
    assert _key_queries(client) == 0


def test_it_refuses_a_revoked_key_on_the_next_request(team: Team) -> None:
    issued = api_key_create(tenant=team.tenant, created_by=team.admin, name="c", scopes=["segments:read"])
    client = _machine(issued.key)
    client.get("/api/auth/whoami/")
    before = key_cache.epoch()
    api_key_revoke(api_key=issued.api_key, actor=team.admin)
    assert key_cache.epoch() == before + 1
    response = client.get("/api/auth/whoami/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_it_drops_cached_keys_when_any_key_changes(team: Team) -> None:
    issued = api_key_create(tenant=team.tenant, created_by=team.admin, name="c", scopes=["segments:read"])
    client = _machine(issued.key)
    client.get("/api/auth/whoami/")
    issued.api_key.scopes = ["events:write"]
    issued.api_key.save()
    body = client.get("/api/auth/whoami/").json()
    assert body["scopes"] == ["events:write"]


def test_it_shares_the_epoch_through_the_mapped_file(team: Team) -> None:
    first = key_cache.epoch()
    key_cache.epoch_bump()
    with open(key_cache._EPOCH.path(), "rb") as handle:
        assert int.from_bytes(handle.read(8), "little") == first + 1


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


REDIS_URL = os.environ.get("SEGOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache() -> Any:
    """The shared cache in Redis, as an installation on several machines has it (CI has Redis)."""
    if not _redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    with override_settings(CACHES=caches):
        from django.core.cache import cache

        cache.delete(key_cache.REDIS_EPOCH_KEY)
        key_cache.clear()
        yield cache
        cache.delete(key_cache.REDIS_EPOCH_KEY)


def test_with_redis_the_epoch_lives_there_and_a_revocation_is_seen_at_once(
    team: Team, redis_cache: Any
) -> None:
    issued = api_key_create(tenant=team.tenant, created_by=team.admin, name="c", scopes=["segments:read"])
    client = _machine(issued.key)
    assert _key_queries(client) >= 1
    assert _key_queries(client) == 0  # served from the process's cache
    before = redis_cache.get(key_cache.REDIS_EPOCH_KEY)
    assert before is not None
    api_key_revoke(api_key=issued.api_key, actor=team.admin)
    assert redis_cache.get(key_cache.REDIS_EPOCH_KEY) not in (None, before)
    response = client.get("/api/auth/whoami/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_with_redis_a_lost_epoch_drops_every_cached_key(team: Team, redis_cache: Any) -> None:
    issued = api_key_create(tenant=team.tenant, created_by=team.admin, name="c", scopes=["segments:read"])
    client = _machine(issued.key)
    client.get("/api/auth/whoami/")
    assert _key_queries(client) == 0
    redis_cache.delete(key_cache.REDIS_EPOCH_KEY)  # evicted, or Redis restarted empty
    assert _key_queries(client) >= 1
