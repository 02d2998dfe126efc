"""Where a real-time evaluation round's time goes, in process, on PostgreSQL.

    uv run --frozen python bench/live_round.py [--events 200000] [--users 20000] [--rounds 5]

A tenant with bench/realtime.py's 10 real-time segments over --events existing events; then,
--rounds times, a few thousand events for --batch-users users are stored through events_store
(as requests of 5 events) and the queue is worked with live_round until nobody is due. Prints,
per round, the users evaluated, the seconds and where they went (fold, reads, rules, apply).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-users", type=int, default=2_000)
    parser.add_argument(
        "--ingest",
        type=int,
        default=0,
        help="events stored (batches of 500) before each round, as under load",
    )
    parser.add_argument("--database", default="segops_bench_live_round")
    args = parser.parse_args()
    with fresh_database(args.database) as url:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segops_server.settings")
        import django

        django.setup()
        run(url, args)
    return 0


def run(url: str, args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.utils import timezone
    from realtime import PROBE, segment_rules
    from segments import generate

    from segops_server.ingestion.services import events_store
    from segops_server.ingestion.validation import event_validate
    from segops_server.segments.compute.services import segment_compute_run
    from segops_server.segments.definitions.services import segment_create
    from segops_server.segments.live import queue
    from segops_server.segments.live.evaluate import Outcome, live_round
    from segops_server.testing.factories import make_tenant

    call_command("migrate", verbosity=0)
    tenant = make_tenant("bench")
    generate(url, tenant.pk, args.events, args.users)
    rules = [PROBE, *segment_rules(None)[:8]]
    segments = [
        segment_create(tenant=tenant, actor=None, name=f"S{n}", definition=r) for n, r in enumerate(rules)
    ]
    ref = segment_rules(segments[1].pk)[-1]
    segments.append(segment_create(tenant=tenant, actor=None, name="Ref", definition=ref))
    started = time.monotonic()
    for segment in segments:
        segment_compute_run(segment_id=segment.pk)
    print(
        f"{len(segments)} segments computed over {args.events:,} events in {time.monotonic() - started:.1f} s"
    )
    kinds = ["page_viewed", "product_viewed", "cart_added", "order_placed", "probe_done"]
    rng = random.Random(7)
    for number in range(args.rounds):
        now = timezone.now()
        users = [f"u{rng.randrange(args.users * 2)}" for _ in range(args.batch_users)]  # half of them new
        clock = time.monotonic()
        for user in users:
            events = [
                event_validate(
                    {
                        "user_id": user,
                        "event_type": kind,
                        "occurred_at": now.isoformat(),
                        "properties": {"total": rng.randrange(400), "plan": rng.choice(["pro", "free"])},
                    },
                    now=now,
                )
                for kind in rng.sample(kinds, 3)
            ]
            events_store(tenant=tenant, events=events, received_at=now)
        stored = time.monotonic() - clock
        total, rounds, evaluations, parts = 0, 0, 0, Outcome().seconds
        while True:
            for _ in range(args.ingest // 500):  # the batch clients' load meanwhile
                batch = [
                    event_validate(
                        {"user_id": f"u{rng.randrange(args.users)}", "event_type": "page_viewed"}, now=now
                    )
                    for _ in range(500)
                ]
                events_store(tenant=tenant, events=batch, received_at=now)
            outcome = Outcome()
            done = live_round(limit=queue.batch_size(), out=outcome)
            if not done or rounds >= 30:
                break
            total += done
            evaluations += outcome.evaluations
            rounds += 1
            for part, seconds in outcome.seconds.items():
                parts[part] += seconds
        shares = ", ".join(f"{p} {s:.2f}" for p, s in sorted(parts.items()))
        print(
            f"batch {number}: stored {len(users) * 3} events in {stored:.1f} s; {total} users in {rounds} rounds, "
            f"{evaluations} segment evaluations; {sum(parts.values()) / max(rounds, 1):.3f} s a round ({shares})"
        )


if __name__ == "__main__":
    sys.exit(main())
