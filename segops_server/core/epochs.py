"""Shared epochs: a value every server process reads cheaply, changed whenever what a
per-process cache holds may have changed, so every process drops that cache at once.

Where an epoch lives decides who shares it:
- with SEGOPS_CACHE_URL=redis://... (the setting several machines need anyway, for login
  throttling and plan quotas): a key in that Redis, read on each use; a random token, so an
  evicted or flushed epoch can never bring old entries back;
- otherwise: an 8-byte counter in a memory-mapped file in SEGOPS_DATA_DIR, which every process
  on the machine maps (no round trip at all). This covers one machine.

A change calls `bump()` once its transaction commits and before its own answer is sent.
"""

from __future__ import annotations

import fcntl
import functools
import mmap
import os
import secrets
import struct
from pathlib import Path

from django.conf import settings
from django.core.cache import cache as shared_cache


def _in_redis() -> bool:
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


@functools.cache
def _path_in(data_dir: str, name: str) -> Path:
    return Path(data_dir) / f"{name}-epoch"


class Epoch:
    def __init__(self, name: str) -> None:
        self.name = name
        self.redis_key = f"segops:{name}-epoch"
        self._map: tuple[int, Path, mmap.mmap] | None = None  # (pid, path, map): a fork maps again

    def path(self) -> Path:
        return _path_in(str(settings.DATA_DIR), self.name)  # read on every use: built once

    def current(self) -> int | str:
        if _in_redis():
            token = shared_cache.get(self.redis_key)
            if token is None:  # first use, or evicted: a new token (old entries never match it)
                shared_cache.add(self.redis_key, secrets.token_hex(8), timeout=None)
                token = shared_cache.get(self.redis_key)
            return str(token)
        return self._file_value()

    def bump(self) -> None:
        if _in_redis():
            shared_cache.set(self.redis_key, secrets.token_hex(8), timeout=None)
            return
        with open(self.path(), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # one bump at a time across processes
            mapped = self._mapped()
            struct.pack_into("<Q", mapped, 0, self._file_value() + 1)
            mapped.flush()

    def _file_value(self) -> int:
        return int(struct.unpack_from("<Q", self._mapped(), 0)[0])

    def _mapped(self) -> mmap.mmap:
        path = self.path()
        if self._map is None or self._map[:2] != (os.getpid(), path):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < 8:
                    os.ftruncate(fd, 8)
                self._map = (os.getpid(), path, mmap.mmap(fd, 8))
            finally:
                os.close(fd)
        return self._map[2]
