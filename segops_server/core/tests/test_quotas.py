"""Plan quota counters: exact in the database, leased in blocks, never past the limit."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from segops_server.core.models import QuotaCounter
from segops_server.core.quotas import leases_clear, per_month_take, quotas_purge

pytestmark = pytest.mark.django_db


def _used(name: str) -> int:
    return QuotaCounter.objects.get(key__startswith=f"{name}:").used


def test_a_process_leases_blocks_and_spends_them_without_the_database() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert all(per_month_take(name="t1", amount=1, limit=10_000) is None for _ in range(150))
    assert _used("t1") == 200  # two blocks of 1 %
    # First lease: UPDATE (no row yet), INSERT, UPDATE; second lease: one UPDATE.
    assert sum("core_quotacounter" in q["sql"] for q in queries.captured_queries) == 4


def test_processes_together_never_take_more_than_the_limit() -> None:
    rng = random.Random(7)
    allowed = 0
    for _ in range(3_000):
        if rng.random() < 0.1:
            leases_clear()  # another process from here on (its leases are its own)
        if per_month_take(name="t2", amount=rng.choice([1, 1, 1, 5]), limit=1_000) is None:
            allowed += 1
    assert _used("t2") == 1_000
    assert allowed <= 1_000


def test_near_the_limit_a_request_that_fits_is_taken_whole() -> None:
    QuotaCounter.objects.create(key=f"t3:{timezone.now():%Y%m}", used=995, expires_at=timezone.now())
    assert per_month_take(name="t3", amount=5, limit=1_000) is None  # a block (10) no longer fits
    assert per_month_take(name="t3", amount=1, limit=1_000) is not None
    assert _used("t3") == 1_000


def test_refusals_count_nothing_so_a_raised_limit_is_there_at_once() -> None:
    assert per_month_take(name="t4", amount=3, limit=3) is None
    for _ in range(5):
        assert per_month_take(name="t4", amount=1, limit=3) is not None
    assert _used("t4") == 3
    assert per_month_take(name="t4", amount=2, limit=5) is None  # e.g. after an upgrade
    assert _used("t4") == 5


def test_a_request_larger_than_the_limit_is_refused_outright() -> None:
    assert per_month_take(name="t5", amount=11, limit=10) is not None
    assert not QuotaCounter.objects.filter(key__startswith="t5:").exists()


def test_the_scheduler_purges_counters_of_windows_long_over() -> None:
    now = timezone.now()
    QuotaCounter.objects.create(key="old:m1", used=5, expires_at=now - timedelta(minutes=1))
    QuotaCounter.objects.create(key="current:m2", used=5, expires_at=now + timedelta(hours=1))
    assert quotas_purge() == 1
    assert list(QuotaCounter.objects.values_list("key", flat=True)) == ["current:m2"]
