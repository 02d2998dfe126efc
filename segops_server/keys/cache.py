"""A per-process cache of verified keys, invalidated everywhere by any key change.

On by default (SEGOPS_KEY_CACHE=0 turns it off: verification then reads the key row on every
request). Each server process keeps keys it has verified, tagged with a shared *epoch*; any
change to any key (revoke, roll, expiry, delete) changes the epoch once its transaction commits,
before the change's own answer is sent, so every process drops every cached key: a revoked key
is refused on the very next request everywhere, with no database round trip in the common case.

Where the epoch lives decides who shares it:
- with SEGOPS_CACHE_URL=redis://... (the setting several machines need anyway, for login
  throttling and plan quotas): a key in that Redis, read on each request; a random token, so an
  evicted or flushed epoch can never bring old entries back;
- otherwise: an 8-byte counter in a memory-mapped file in SEGOPS_DATA_DIR, which every process
  on the machine maps (no round trip at all). This covers one machine only.
"""

from __future__ import annotations

import fcntl
import functools
import mmap
import os
import secrets
import struct
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache

ENTRY_SECONDS = 60.0  # also bounds how stale a cached key's other fields (tenant plan) can be
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_entries: dict[str, tuple[int | str, float, Any]] = {}
_epoch_map: tuple[int, Path, mmap.mmap] | None = None  # (pid, path, map): a forked process maps again


REDIS_EPOCH_KEY = "segops:key-cache-epoch"


def enabled() -> bool:
    return bool(settings.SEGOPS_KEY_CACHE)


def _epoch_in_redis() -> bool:
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


def _redis_epoch() -> str:
    token = shared_cache.get(REDIS_EPOCH_KEY)
    if token is None:  # first use, or evicted: a new token (old entries never match it)
        shared_cache.add(REDIS_EPOCH_KEY, secrets.token_hex(8), timeout=None)
        token = shared_cache.get(REDIS_EPOCH_KEY)
    return str(token)


@functools.cache
def _path_in(data_dir: str) -> Path:
    return Path(data_dir) / "key-cache-epoch"


def _path() -> Path:
    return _path_in(str(settings.DATA_DIR))  # read on every request: built once per directory


def _map() -> mmap.mmap:
    global _epoch_map
    path = _path()
    if _epoch_map is None or _epoch_map[:2] != (os.getpid(), path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8:
                os.ftruncate(fd, 8)
            _epoch_map = (os.getpid(), path, mmap.mmap(fd, 8))
        finally:
            os.close(fd)
    return _epoch_map[2]


def epoch() -> int | str:
    if _epoch_in_redis():
        return _redis_epoch()
    return _file_epoch()


def _file_epoch() -> int:
    return int(struct.unpack_from("<Q", _map(), 0)[0])


def epoch_bump() -> None:
    """Invalidate every process's cached keys (called after a key change commits)."""
    if not enabled():
        return
    if _epoch_in_redis():
        shared_cache.set(REDIS_EPOCH_KEY, secrets.token_hex(8), timeout=None)
        return
    with open(_path(), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one bump at a time across processes
        mapped = _map()
        struct.pack_into("<Q", mapped, 0, _file_epoch() + 1)
        mapped.flush()


def get(digest: str) -> Any | None:
    entry = _entries.get(digest)
    if entry is None:
        return None
    tagged, loaded, key = entry
    if tagged != epoch() or time.monotonic() - loaded > ENTRY_SECONDS:
        return None
    return key


def put(digest: str, key: Any, tagged_epoch: int | str) -> None:
    """Store a key read from the database; `tagged_epoch` is the epoch read *before* that read,
    so a change committed in between leaves the entry already stale."""
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (tagged_epoch, time.monotonic(), key)


def clear() -> None:
    with _lock:
        _entries.clear()
