"""Fixed-window counters for plan limits (calls a minute, events a month), cheap on hot paths.

Each window has one counter row in the database, changed by conditional UPDATEs that never count
past the limit, so the count is exact across processes and machines. A server process does not
go there for every request: it *leases* a block of the window's allowance (1 % of the limit,
from 1 to 1,000 units) and spends it locally, going back once per block. A tenant therefore
never gets more than its limit; what processes have leased but not spent when a window ends is
lost, so a tenant may be refused at most (block x processes) short of the limit, never past it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from segops_server.core.models import QuotaCounter

MAX_BLOCK = 1_000
RETENTION = timedelta(days=1)  # counter rows outlive their window by this much, then are purged

_leases: dict[str, int] = {}  # window key -> units leased by this process and not yet spent
_lock = threading.Lock()


def _block(amount: int, limit: int) -> int:
    return max(amount, min(MAX_BLOCK, limit // 100 or 1))


def _lease(key: str, units: int, limit: int, expires_at: datetime) -> bool:
    """Take `units` of the window's allowance, all or nothing: one conditional UPDATE, which
    never counts past the limit (so a raised limit, on a plan change, is not eaten by refusals)."""
    if units > limit:
        return False
    table, column = QuotaCounter._meta.db_table, connection.ops.quote_name("key")
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET used = used + %s WHERE {column} = %s AND used + %s <= %s",  # noqa: S608
                [units, key, units, limit],
            )
            if cursor.rowcount == 1:
                return True
            cursor.execute(
                f"INSERT INTO {table} ({column}, used, expires_at) VALUES (%s, 0, %s) "  # noqa: S608
                f"ON CONFLICT ({column}) DO NOTHING",
                [key, connection.ops.adapt_datetimefield_value(expires_at)],
            )
            if cursor.rowcount == 0:
                return False  # the window's row exists: the units do not fit under the limit
    return False


def _take(key: str, amount: int, limit: int, window_end: datetime) -> bool:
    """Count `amount` against `limit`; False (nothing counted) when it would go over."""
    with _lock:
        leased = _leases.get(key, 0)
        if leased >= amount:
            _leases[key] = leased - amount
            return True
    block = _block(amount, limit)
    expires_at = window_end + RETENTION
    if _lease(key, block, limit, expires_at):
        got = block
    elif block > amount and _lease(key, amount, limit, expires_at):
        got = amount  # near the limit: no whole block left, but this request fits
    else:
        return False
    with _lock:
        if len(_leases) > 10_000:  # old windows' leftovers: dropping them only lowers what is left
            _leases.clear()
        _leases[key] = _leases.get(key, 0) + got - amount
    return True


def per_minute_take(*, name: str, amount: int, limit: int) -> int | None:
    """Seconds to wait when over the per-minute limit, else None."""
    now = time.time()
    window = int(now // 60)
    window_end = datetime.fromtimestamp((window + 1) * 60, tz=UTC)
    if _take(f"{name}:m{window}", amount, limit, window_end):
        return None
    return max(1, int((window + 1) * 60 - now) + 1)


def per_month_take(*, name: str, amount: int, limit: int) -> int | None:
    """Seconds to wait (until the next calendar month, UTC) when over the monthly limit, else None."""
    now = datetime.now(UTC)
    first_of_next = (now.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    if _take(f"{name}:{now:%Y%m}", amount, limit, first_of_next):
        return None
    return max(1, int((first_of_next - now).total_seconds()) + 1)


def quotas_purge() -> int:
    """Delete the counters of windows that ended more than RETENTION ago (the scheduler's job)."""
    deleted, _ = QuotaCounter.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def leases_clear() -> None:
    """Forget this process's leases (tests: a new database means new counters)."""
    with _lock:
        _leases.clear()
