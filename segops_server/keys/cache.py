"""A per-process cache of verified keys, invalidated everywhere by any key change.

On by default (SEGOPS_KEY_CACHE=0 turns it off: verification then reads the key row on every
request). Each server process keeps keys it has verified, tagged with a shared *epoch*; any
change to any key (revoke, roll, expiry, delete) changes the epoch once its transaction commits,
before the change's own answer is sent, so every process drops every cached key: a revoked key
is refused on the very next request everywhere, with no database round trip in the common case.

The epoch is shared as core/epochs.py describes: in the Redis of SEGOPS_CACHE_URL, or a
memory-mapped counter in SEGOPS_DATA_DIR on one machine.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from django.conf import settings

from segops_server.core.epochs import Epoch

if TYPE_CHECKING:
    from segops_server.keys.models import ApiKey

ENTRY_SECONDS = 60.0  # also bounds how stale a cached key's other fields (tenant plan) can be
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_entries: dict[str, tuple[int | str, float, ApiKey]] = {}


_EPOCH = Epoch("key-cache")
REDIS_EPOCH_KEY = _EPOCH.redis_key


def enabled() -> bool:
    return bool(settings.SEGOPS_KEY_CACHE)


def epoch() -> int | str:
    return _EPOCH.current()


def epoch_bump() -> None:
    """Invalidate every process's cached keys (called after a key change commits)."""
    if enabled():
        _EPOCH.bump()


def get(digest: str) -> ApiKey | None:
    entry = _entries.get(digest)
    if entry is None:
        return None
    tagged, loaded, key = entry
    if tagged != epoch() or time.monotonic() - loaded > ENTRY_SECONDS:
        return None
    return key


def put(digest: str, key: ApiKey, tagged_epoch: int | str) -> None:
    """Store a key read from the database; `tagged_epoch` is the epoch read *before* that read,
    so a change committed in between leaves the entry already stale."""
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (tagged_epoch, time.monotonic(), key)


def clear() -> None:
    with _lock:
        _entries.clear()
