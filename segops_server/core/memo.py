"""Small per-process memories of answers that are cheap to find again, bounded whatever keys
clients send (hosts, paths, Accept headers): when one is full it is emptied and fills again."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def memo_put(memory: dict[K, V], key: K, value: V, limit: int) -> V:
    """`memory[key] = value`, the memory emptied first when it already holds `limit` entries."""
    if len(memory) >= limit:
        memory.clear()
    memory[key] = value
    return value
