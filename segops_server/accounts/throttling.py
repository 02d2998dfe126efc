"""Failed-login throttling per account and per client address, in the shared cache."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def _client_address(request: Request) -> str:
    # DRF's own ident honours SEGOPS_NUM_PROXIES (X-Forwarded-For from trusted proxies only).
    return BaseThrottle().get_ident(request)


def _keys(request: Request, email: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"login-fail:acct:{account}", settings.SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT),
        (f"login-fail:addr:{_client_address(request)}", settings.SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]


def login_retry_after(request: Request, email: str) -> int | None:
    """Seconds to wait if this account or this address has failed too often, else None."""
    now = time.time()
    for key, limit in _keys(request, email):
        state = cache.get(key)
        if state and state["count"] >= limit and state["reset_at"] > now:
            return max(1, int(state["reset_at"] - now) + 1)
    return None


def login_failure_record(request: Request, email: str) -> None:
    window = settings.SEGOPS_LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    for key, _limit in _keys(request, email):
        state = cache.get(key)
        if not state or state["reset_at"] <= now:
            state = {"count": 0, "reset_at": now + window}
        state["count"] += 1
        cache.set(key, state, timeout=int(state["reset_at"] - now) + 1)


def login_failures_clear(request: Request, email: str) -> None:
    """A correct password clears the account's counter (not the address's)."""
    cache.delete(_keys(request, email)[0][0])
