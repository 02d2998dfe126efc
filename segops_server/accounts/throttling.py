"""Failed-login throttling per account and per client address, and per-address rates on
sign-up, tenant creation and invitations, in the shared cache."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from segops_server.core.proxy import client_address


def _keys(request: HttpRequest | Request, email: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"login-fail:acct:{account}", settings.SEGOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT),
        (f"login-fail:addr:{client_address(request)}", settings.SEGOPS_LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]


def login_retry_after(request: HttpRequest | Request, email: str) -> int | None:
    """Seconds to wait if this account or this address has failed too often, else None."""
    now = time.time()
    for key, limit in _keys(request, email):
        state = cache.get(key)
        if state and state["count"] >= limit and state["reset_at"] > now:
            return max(1, int(state["reset_at"] - now) + 1)
    return None


def login_failure_record(request: HttpRequest | Request, email: str) -> None:
    window = settings.SEGOPS_LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    for key, _limit in _keys(request, email):
        state = cache.get(key)
        if not state or state["reset_at"] <= now:
            state = {"count": 0, "reset_at": now + window}
        state["count"] += 1
        cache.set(key, state, timeout=int(state["reset_at"] - now) + 1)


def login_failures_clear(request: HttpRequest | Request, email: str) -> None:
    """A correct password clears the account's counter (not the address's)."""
    cache.delete(_keys(request, email)[0][0])


class _AddressRate(SimpleRateThrottle):
    """DRF's fixed-rate throttle keyed by client address, with the rate from our settings."""

    def __init__(self, scope: str, rate: str) -> None:  # no super(): DRF would look the rate up by scope
        self.scope = scope
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)

    def get_cache_key(self, request: Request, view: object) -> str:  # the one client-address rule
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


# What each limited action is called in cache keys, and the setting that holds its rate.
RATES = {
    "registration": "SEGOPS_REGISTRATION_RATE",
    "tenant_creation": "SEGOPS_TENANT_CREATION_RATE",
    "invitation": "SEGOPS_INVITATION_RATE",
}


def address_rate_take(request: Request | Any, action: str) -> int | None:
    """Count one attempt at `action` from this address; seconds to wait if over the rate, else None.

    Every attempt counts, refused or not, so a run of sign-ups probing which emails exist is
    held back as much as a run of new accounts.
    """
    throttle = _AddressRate(action, getattr(settings, RATES[action]))
    if throttle.allow_request(request, cast(APIView, None)):  # the view plays no part in the key
        return None
    return max(1, math.ceil(throttle.wait() or 1))
