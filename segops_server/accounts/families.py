"""Is a token family (one login's session) still live? A per-process answer, dropped everywhere
whenever any family is revoked.

Every access token names its family, so logout and refresh-token reuse can end the session's
access tokens at once. Asking the database on each request would add a query to the JWT hot
path; instead each server process remembers the families it has found live, tagged with a
shared *epoch* (core/epochs.py) that every revocation changes once it commits, before its own
answer is sent. The next request on any process then sees a new epoch, forgets every family it
knew and reads the row again: a revoked family is refused on the very next request everywhere.

SEGOPS_TOKEN_FAMILY_CACHE=0 reads the family row on every request instead (needed on several
machines without a shared SEGOPS_CACHE_URL, like SEGOPS_KEY_CACHE).
"""

from __future__ import annotations

import threading
import time
import uuid

from django.conf import settings
from django.db import transaction

from segops_server.accounts.models import TokenFamily
from segops_server.core.epochs import Epoch

ENTRY_SECONDS = 60.0
MAX_ENTRIES = 50_000

_EPOCH = Epoch("token-families")
_lock = threading.Lock()
_live: dict[uuid.UUID, tuple[int | str, float, int]] = {}  # family -> (epoch, loaded, user id)


def enabled() -> bool:
    return bool(settings.SEGOPS_TOKEN_FAMILY_CACHE)


def family_is_live(*, family: uuid.UUID, user_id: int) -> bool:
    if not enabled():
        return _read(family, user_id)
    tagged = _EPOCH.current()  # read before the row, so a revocation in between leaves it stale
    entry = _live.get(family)
    if entry is not None and entry[0] == tagged and time.monotonic() - entry[1] < ENTRY_SECONDS:
        return entry[2] == user_id
    if not _read(family, user_id):
        return False
    with _lock:
        if len(_live) >= MAX_ENTRIES:
            _live.clear()
        _live[family] = (tagged, time.monotonic(), user_id)
    return True


def _read(family: uuid.UUID, user_id: int) -> bool:
    return TokenFamily.objects.filter(pk=family, user_id=user_id, revoked_at__isnull=True).exists()


def families_revoked() -> None:
    """Called by every revocation: once it commits, every process forgets the families it knew."""
    if enabled():
        transaction.on_commit(_EPOCH.bump)


def clear() -> None:
    with _lock:
        _live.clear()
