"""Reads of analytics (spec §16): overview figures, segment trends, overlaps, activations, usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.accounts.plans import PLANS, PlanName
from segops_server.activations.models import Activation, ActivationSync, SyncStatus
from segops_server.analytics.models import SegmentSizeDay
from segops_server.core.errors import Invalid
from segops_server.core.rawsql import StatementTimeout, bounded_read, statement_timeout
from segops_server.ingestion.models import Event
from segops_server.segments.members import stay_covers_sql
from segops_server.segments.models import Segment, SegmentMember

TREND_DAYS = 30
OVERLAP_PAIRS = 20
SYNC_LOGS = 10  # the newest syncs shown with each activation


def _segments(tenant: Tenant) -> Any:
    return Segment.objects.for_tenant(tenant)


def _members_total(tenant: Tenant) -> int:
    """The sum of the segments' current sizes (a user in two segments counts twice)."""
    return int(_segments(tenant).aggregate(total=Sum("member_count"))["total"] or 0)


def overview(*, tenant: Tenant, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    events = Event.objects.for_tenant(tenant).filter(occurred_at__gte=now - timedelta(days=30))
    return {
        "segment_count": _segments(tenant).count(),
        "total_members": _members_total(tenant),
        "events_30d": events.count(),
        # AI features are not part of this installation (spec §10): nothing to use, nothing to spend.
        "ai_credits_used": 0,
        "ai_credits_limit": 0,
    }


def _trend(known: list[tuple[date, int]], start: date, today: date) -> list[dict[str, Any]]:
    """Daily counts from the first known day in the window (or the window's start, carried from
    the day before it) to today; a day without a record keeps the last recorded count."""
    if len(known) < 2:
        return []
    points: list[dict[str, Any]] = []
    recorded = dict(known)
    day = max(start, known[0][0])
    count = next((c for d, c in reversed(known) if d <= day), known[0][1])
    while day <= today:
        count = recorded.get(day, count)
        points.append({"day": day, "count": count})
        day += timedelta(days=1)
    return points


def segment_trends(*, tenant: Tenant, today: date | None = None) -> list[dict[str, Any]]:
    """Every segment with its last 30 days of member counts (empty when fewer than 2 days are known)."""
    today = today or timezone.now().date()
    start = today - timedelta(days=TREND_DAYS - 1)
    segments = list(_segments(tenant).order_by("-created_at", "-pk"))
    sizes = SegmentSizeDay.objects.for_tenant(tenant)
    # The last record before the window, per segment: the count the window starts with.
    before = sizes.filter(day__lt=start).values("segment_id").annotate(last=Max("day"))
    seeds = Q()
    for row in before:
        seeds |= Q(segment_id=row["segment_id"], day=row["last"])
    rows = (
        sizes.filter(Q(day__gte=start, day__lte=today) | seeds)
        if seeds
        else sizes.filter(day__gte=start, day__lte=today)
    )
    known: dict[int, list[tuple[date, int]]] = {}
    for segment_id, day, count in rows.order_by("segment_id", "day").values_list(
        "segment_id", "day", "count"
    ):
        known.setdefault(segment_id, []).append((day, count))
    return [
        {
            "id": segment.pk,
            "name": segment.name,
            "member_count": segment.member_count,
            "last_computed_at": segment.last_computed_at,
            "trend": _trend(known.get(segment.pk, []), start, today),
        }
        for segment in segments
    ]


_OVERLAP_SQL = (
    "SELECT a.segment_id, b.segment_id, count(*) AS overlap "
    "FROM {members} a JOIN {segments} sa ON sa.id = a.segment_id AND {a_covers} "
    "JOIN {members} b ON b.tenant_id = a.tenant_id AND b.user_id = a.user_id AND b.segment_id > a.segment_id "
    "JOIN {segments} sb ON sb.id = b.segment_id AND {b_covers} "
    "WHERE a.tenant_id = %s AND sa.tenant_id = %s AND sb.tenant_id = %s "
    "GROUP BY a.segment_id, b.segment_id "
    "ORDER BY overlap DESC, a.segment_id, b.segment_id LIMIT %s"
)


def overlap(*, tenant: Tenant) -> list[dict[str, Any]]:
    """The 20 pairs of segments sharing the most current members, with
    overlap_pct = overlap / min(count_a, count_b) * 100; bounded like a preview."""
    sql = _OVERLAP_SQL.format(
        members=SegmentMember._meta.db_table,
        segments=Segment._meta.db_table,
        a_covers=stay_covers_sql("a", "sa.generation"),
        b_covers=stay_covers_sql("b", "sb.generation"),
    )
    try:
        with (
            bounded_read(connection),
            connection.cursor() as cursor,
            statement_timeout(cursor, settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS),
        ):
            cursor.execute(sql, [tenant.pk, tenant.pk, tenant.pk, OVERLAP_PAIRS])
            pairs = cursor.fetchall()
    except StatementTimeout as exc:
        raise Invalid({"detail": f"The overlap took longer than {exc.seconds} s to count."}) from None
    ids = {i for a, b, _ in pairs for i in (a, b)}
    segments = {s.pk: s for s in _segments(tenant).filter(pk__in=ids)}
    result = []
    for a, b, shared in pairs:
        seg_a, seg_b = segments.get(a), segments.get(b)
        if seg_a is None or seg_b is None:
            continue  # deleted since
        smaller = min(seg_a.member_count, seg_b.member_count)
        result.append(
            {
                "seg_a_id": a,
                "seg_a_name": seg_a.name,
                "seg_b_id": b,
                "seg_b_name": seg_b.name,
                "overlap": shared,
                "overlap_pct": round(shared / smaller * 100, 2) if smaller else 0.0,
            }
        )
    return result


def activations(*, tenant: Tenant) -> list[dict[str, Any]]:
    """Each activation with its segment, its newest syncs and the share of its finished syncs that
    succeeded (null before any has finished)."""
    rows = list(
        Activation.objects.for_tenant(tenant).select_related("segment").order_by("-created_at", "-pk")
    )
    syncs = ActivationSync.objects.for_tenant(tenant).filter(activation__in=rows)
    tallies = {
        row["activation_id"]: row
        for row in syncs.values("activation_id").annotate(
            succeeded=Count("id", filter=Q(status=SyncStatus.SUCCEEDED)),
            failed=Count("id", filter=Q(status=SyncStatus.FAILED)),
        )
    }
    result = []
    for activation in rows:
        tally = tallies.get(activation.pk, {"succeeded": 0, "failed": 0})
        finished = tally["succeeded"] + tally["failed"]
        result.append(
            {
                "id": activation.pk,
                "segment_id": activation.segment_id,
                "segment_name": activation.segment.name,
                "connector_type": activation.connector_type,
                "status": activation.status,
                "last_synced_at": activation.last_synced_at,
                "last_error": activation.last_error,
                "member_count": activation.segment.member_count,
                "success_rate": round(tally["succeeded"] / finished * 100, 2) if finished else None,
                "sync_logs": list(syncs.filter(activation=activation).order_by("-id")[:SYNC_LOGS]),
            }
        )
    return result


def usage(*, tenant: Tenant, now: datetime | None = None) -> dict[str, Any]:
    """The plan's limits next to this month's figures (calendar month, UTC, as the events quota)."""
    now = (now or timezone.now()).astimezone(UTC)
    period_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    plan = PLANS[PlanName(tenant.plan)]
    return {
        "plan": tenant.plan,
        "period_start": period_start,
        "events_this_month": Event.objects.for_tenant(tenant).filter(received_at__gte=period_start).count(),
        "events_limit": plan.events_per_month,
        "api_calls_per_minute_limit": plan.calls_per_minute,
        "segments": _segments(tenant).count(),
        "members": _members_total(tenant),
    }


def events_per_day(*, tenant: Tenant, today: date | None = None) -> list[dict[str, Any]]:
    """The tenant's events by the UTC day they occurred, for the last 30 days (today included);
    a day without events counts 0."""
    today = today or timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=TREND_DAYS - 1)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    rows = (
        Event.objects.for_tenant(tenant)
        .filter(occurred_at__gte=since, occurred_at__lt=since + timedelta(days=TREND_DAYS))
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("id"))
    )
    counts = {row["day"]: row["count"] for row in rows}
    return [
        {"day": start + timedelta(days=n), "count": counts.get(start + timedelta(days=n), 0)}
        for n in range(TREND_DAYS)
    ]
