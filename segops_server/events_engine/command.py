"""`segops events backfill`: the copy with its progress on stderr, then the per-tenant table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from segops_server.events_engine import backfill
from segops_server.events_engine.backfill import TenantCount
from segops_server.events_engine.engine import clickhouse_enabled, clickhouse_transport
from segops_server.events_engine.progress import Progress
from segops_server.events_engine.shipping import BATCH

NAME = "segops events backfill"


def backfill_command(*, batch: int | None, out: TextIO, err: TextIO) -> int:
    """Exit 0 when every tenant's counts match, 1 when they differ or the copy stopped, 2 when
    ClickHouse is not the events engine or cannot be opened (130 on Ctrl+C)."""
    if not clickhouse_enabled():
        print(
            f"{NAME}: the events engine is not ClickHouse. Set SEGOPS_EVENTS_ENGINE=clickhouse and "
            "SEGOPS_CLICKHOUSE_URL first (docs/configuration.md).",
            file=err,
        )
        return 2
    try:
        transport = clickhouse_transport()  # opened with the events table ensured (schema.py)
    except Exception as exc:  # the extra not installed, the server unreachable: one line, no traceback
        print(f"{NAME}: cannot open ClickHouse: {type(exc).__name__}: {exc}", file=err)
        return 2
    plan = backfill.backfill_plan()
    progress = Progress(plan.total, err)
    copied = 0

    def report(done: int) -> None:
        nonlocal copied
        copied = done
        progress.update(done)

    try:
        last = backfill.events_backfill(transport, plan, batch=batch or BATCH, progress=report)
    except (Exception, KeyboardInterrupt) as exc:
        # The batch in flight was rolled back with the cursor; ClickHouse drops it when shipped again.
        progress.finish(copied)
        stopped = isinstance(exc, KeyboardInterrupt)
        reason = "interrupted" if stopped else f"{type(exc).__name__}: {exc}"
        print(f"{NAME}: stopped ({reason}). {_resume_hint()}", file=err)
        return 130 if stopped else 1
    progress.finish(copied)
    return counts_report(backfill.events_counts_compare(transport, upto_id=last), last=last, out=out, err=err)


def _resume_hint() -> str:
    try:
        where = f"Events up to id {backfill.ship_cursor()} are in ClickHouse; run"
    except Exception:  # the database itself is away: the cursor is where it was, just unknown here
        where = "Run"
    return f"{where} it again to continue from the cursor."


def counts_report(rows: Sequence[TenantCount], *, last: int, out: TextIO, err: TextIO) -> int:
    """Each tenant's counts as a table on `out`; 0 when all match, else 1 with what differs on `err`."""
    table = [("tenant", "database", "clickhouse", "ok")]
    table += [(r.slug, f"{r.database:,}", f"{r.clickhouse:,}", "yes" if r.ok else "NO") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for slug, database, clickhouse, ok in table:
        print(f"{slug:<{widths[0]}}  {database:>{widths[1]}}  {clickhouse:>{widths[2]}}  {ok}", file=out)
    differ = [r for r in rows if not r.ok]
    if differ:
        print(
            f"{NAME}: counts differ for {len(differ)} tenant(s) ({', '.join(r.slug for r in differ)}) "
            f"in events up to id {last}. Nothing was changed. More in ClickHouse: events copied twice, "
            "or kept after their tenant was deleted; fewer: events missing there "
            '(docs/architecture.md, "Moving an existing installation").',
            file=err,
        )
        return 1
    total = sum(r.database for r in rows)
    print(f"All {len(rows)} tenant(s) match: {total:,} events up to id {last} are in ClickHouse.", file=out)
    return 0
