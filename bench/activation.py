"""Activation at scale: a segment of 1,000,000 members recomputed with 10 % of them replaced.

    uv run --frozen python bench/activation.py [--members 1000000] [--replaced 0.10]

Reports (1) the time to compute and record the difference: the new generation written, the
entered and exited users recorded in SQL, and the swap with its outbox (the webhook deliveries
of the changes in chunks of 1,000, written in the swap's transaction) — goal <= 3 s; (2) the
user changes delivered per second to a local receiver (an HTTP server on 127.0.0.1 answering
200) by the delivery sender, every delivery signed, its attempt recorded — goal >= 50,000/s.

In-process on a fresh PostgreSQL database (SEGOPS_BENCH_PG, as the other benchmarks): the member
sets come from generate_series, so the time measured is the compute's writing and recording of
the difference, not a rule's evaluation (bench/segments.py measures that).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _server import fresh_database

SERIES = "SELECT 'u' || lpad(i::text, 8, '0') AS user_id FROM generate_series(%s::int, %s::int) i"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--replaced", type=float, default=0.10)
    parser.add_argument("--statements", action="store_true", help="print each compute's slowest statements")
    args = parser.parse_args()

    with fresh_database("segops_bench_activation") as url:
        os.environ.update(
            DATABASE_URL=url,
            SEGOPS_ENV="local",
            SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS="1",
            DJANGO_SETTINGS_MODULE="segops_server.settings",
            SEGOPS_DATA_DIR=str(Path("/tmp/segops-bench-activation")),
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return run(args.members, args.replaced, args.statements)


def run(members: int, replaced_share: float, show_statements: bool) -> int:
    from django.db import connection
    from django.utils import timezone

    from segops_server.segments.compute.materialise import members_materialise
    from segops_server.segments.models import Segment, SegmentChange
    from segops_server.testing.factories import make_tenant, make_user
    from segops_server.testing.receiver import Receiver
    from segops_server.webhooks.models import Delivery, DeliveryStatus, Webhook
    from segops_server.webhooks.outbox import compute_outbox_write
    from segops_server.webhooks.sender import deliveries_send_due
    from segops_server.webhooks.signing import secret_generate

    tenant = make_tenant("bench", owner=make_user("bench@example.com"))
    segment = Segment.objects.unscoped_all_tenants().create(tenant=tenant, name="Million", definition=None)

    def compute(first: int, last: int) -> float:
        segment.refresh_from_db()
        generation = segment.generation + 1
        now = timezone.now()

        def swap(count: int) -> None:  # the compute's swap (segments/compute/services.py)
            Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
                generation=generation, member_count=count, last_computed_at=now
            )
            compute_outbox_write(
                tenant=tenant, segment=segment, generation=generation, member_count=count, now=now
            )

        timings: list[tuple[float, str]] = []

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append((time.perf_counter() - began, " ".join(sql.split())[:90]))

        start = time.perf_counter()
        with connection.execute_wrapper(timed):
            members_materialise(
                tenant_id=tenant.pk,
                segment_id=segment.pk,
                generation=generation,
                now=now,
                sql=SERIES,
                params=[first, last],
                swap=swap,
            )
        seconds = time.perf_counter() - start
        if show_statements:
            for took, text in sorted(timings, reverse=True)[:6]:
                print(f"    {took:6.2f} s  {text}")
        return seconds

    first = compute(0, members - 1)
    print(f"first compute of {members:,} members (no webhook yet): {first:.2f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE segments_segmentmember")
        cursor.execute("VACUUM ANALYZE segments_segmentchange")

    with Receiver().running() as receiver:
        Webhook.objects.unscoped_all_tenants().create(
            tenant=tenant,
            url=receiver.url(),
            secret=secret_generate(),
            events=["segment.membership_changed"],
        )
        shift = int(members * replaced_share)
        seconds = compute(shift, members - 1 + shift)
        changes = SegmentChange.objects.for_tenant(tenant).filter(generation=2).count()
        queued = Delivery.objects.for_tenant(tenant).count()
        verdict = "meets" if seconds <= 3 else "ABOVE"
        print(
            f"recompute with {shift:,} replaced: {changes:,} changes recorded and {queued:,} deliveries "
            f"queued in {seconds:.2f} s ({verdict} goal 3 s)"
        )

        start = time.perf_counter()
        while deliveries_send_due(limit=100):
            pass
        elapsed = time.perf_counter() - start
        done = Delivery.objects.for_tenant(tenant).filter(status=DeliveryStatus.SUCCEEDED).count()
        users = sum(
            len(body.get("entered", [])) + len(body.get("exited", []))
            for body in (request.json() for request in receiver.requests)
        )
        rate = users / elapsed
        print(
            f"delivered {users:,} user changes in {done:,} signed deliveries ({len(receiver.requests):,} requests) "
            f"in {elapsed:.2f} s: {rate:,.0f} users/s ({'meets' if rate >= 50_000 else 'BELOW'} goal 50,000/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
