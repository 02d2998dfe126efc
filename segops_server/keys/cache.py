"""An optional per-process cache of verified keys, for single-machine installations.

Off by default: verification then reads the key row on every request. With SEGOPS_KEY_CACHE=1
each worker process keeps keys it has verified, tagged with a shared *epoch*: an 8-byte counter
in a memory-mapped file in SEGOPS_DATA_DIR that every process on the machine maps. Any change
to any key (revoke, roll, expiry, delete) bumps the epoch once its transaction commits, before
the change's own answer is sent, so every process drops every cached key: a revoked key is
refused on the very next request everywhere, with no database round trip in the common case.
The epoch lives on one machine, so this is only correct when every server process shares
that machine (and SEGOPS_DATA_DIR); with several machines keep the cache off.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

ENTRY_SECONDS = 60.0  # also bounds how stale a cached key's other fields (tenant plan) can be
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_entries: dict[str, tuple[int, float, Any]] = {}
_epoch_map: tuple[int, Path, mmap.mmap] | None = None  # (pid, path, map): a forked process maps again


def enabled() -> bool:
    return bool(settings.SEGOPS_KEY_CACHE)


def _path() -> Path:
    return Path(settings.DATA_DIR) / "key-cache-epoch"


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


def epoch() -> int:
    return int(struct.unpack_from("<Q", _map(), 0)[0])


def epoch_bump() -> None:
    """Invalidate every process's cached keys (called after a key change commits)."""
    if not enabled():
        return
    with open(_path(), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one bump at a time across processes
        mapped = _map()
        struct.pack_into("<Q", mapped, 0, epoch() + 1)
        mapped.flush()


def get(digest: str) -> Any | None:
    entry = _entries.get(digest)
    if entry is None:
        return None
    tagged, loaded, key = entry
    if tagged != epoch() or time.monotonic() - loaded > ENTRY_SECONDS:
        return None
    return key


def put(digest: str, key: Any, tagged_epoch: int) -> None:
    """Store a key read from the database; `tagged_epoch` is the epoch read *before* that read,
    so a change committed in between leaves the entry already stale."""
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (tagged_epoch, time.monotonic(), key)


def clear() -> None:
    with _lock:
        _entries.clear()
