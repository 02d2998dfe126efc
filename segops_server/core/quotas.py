"""Fixed-window counters in the shared cache, for plan limits (calls a minute, events a month)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.core.cache import cache


def _take(key: str, amount: int, limit: int, ttl: int) -> bool:
    """Count `amount` against `limit`; False (and nothing counted) when it would go over."""
    cache.add(key, 0, timeout=ttl)
    try:
        value = cache.incr(key, amount)
    except ValueError:  # evicted between add and incr
        cache.set(key, amount, timeout=ttl)
        value = amount
    if value > limit:
        cache.decr(key, amount)
        return False
    return True


def per_minute_take(*, name: str, amount: int, limit: int) -> int | None:
    """Seconds to wait when over the per-minute limit, else None."""
    now = time.time()
    window = int(now // 60)
    if _take(f"quota:{name}:m{window}", amount, limit, ttl=120):
        return None
    return max(1, int((window + 1) * 60 - now) + 1)


def per_month_take(*, name: str, amount: int, limit: int) -> int | None:
    """Seconds to wait (until the next calendar month, UTC) when over the monthly limit, else None."""
    now = datetime.now(UTC)
    if _take(f"quota:{name}:{now:%Y%m}", amount, limit, ttl=32 * 86400):
        return None
    first_of_next = (now.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return max(1, int((first_of_next - now).total_seconds()) + 1)
