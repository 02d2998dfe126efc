"""/api/analytics/: overview, segment trends, overlap, activations and usage (spec §16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.activations.models import Activation, ActivationSync, ConnectorType, SyncKind, SyncStatus
from segops_server.analytics.models import SegmentSizeDay
from segops_server.analytics.services import segment_size_record
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db


def _rule(event_type: str) -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": event_type, "operator": "gte", "value": 1}],
    }


def _send(tenant: Tenant, users: list[str], event_type: str, *, ago: timedelta = timedelta(hours=1)) -> None:
    now = timezone.now()
    at = (now - ago).isoformat()
    valid = [
        event_validate({"user_id": u, "event_type": event_type, "occurred_at": at}, now=now) for u in users
    ]
    events_store(tenant=tenant, events=valid, received_at=now)


def _segment(team: Team, name: str, event_type: str, *, now: datetime | None = None) -> Segment:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=_rule(event_type))
    segment_compute_run(segment_id=segment.pk, now=now)
    segment.refresh_from_db()
    return segment


def _get(team: Team, what: str, who: str = "viewer") -> Any:
    answer = team.client(who).get(f"/api/analytics/{what}/")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_overview_counts_segments_members_and_the_last_30_days_of_events(team: Team) -> None:
    _send(team.tenant, ["a", "b", "c"], "order_placed")
    _send(team.tenant, ["a"], "order_placed", ago=timedelta(days=31))  # too old
    _send(team.tenant, ["a", "b"], "page_viewed")
    _send(team.other_tenant, ["x", "y"], "order_placed")  # another tenant's
    _segment(team, "Buyers", "order_placed")
    _segment(team, "Readers", "page_viewed")

    assert _get(team, "overview") == {
        "segment_count": 2,
        "total_members": 5,
        "events_30d": 5,
        "ai_credits_used": 0,
        "ai_credits_limit": 0,
    }


def test_every_compute_records_the_days_size_once(team: Team) -> None:
    _send(team.tenant, ["a"], "order_placed")
    segment = _segment(team, "Buyers", "order_placed")
    _send(team.tenant, ["b", "c"], "order_placed")
    segment_compute_run(segment_id=segment.pk)

    rows = SegmentSizeDay.objects.for_tenant(team.tenant).filter(segment=segment)
    assert list(rows.values_list("day", "count")) == [(timezone.now().date(), 3)]


def test_segments_trend_is_daily_for_30_days_carrying_the_last_count(team: Team) -> None:
    today = timezone.now().date()
    _send(team.tenant, ["a"], "order_placed")
    segment = _segment(team, "Buyers", "order_placed")
    for days_ago, count in ((40, 7), (10, 4), (5, 6)):  # 40 days ago: before the window
        segment_size_record(
            segment_id=segment.pk, tenant_id=team.tenant.pk, day=today - timedelta(days=days_ago), count=count
        )

    [row] = _get(team, "segments")

    assert (row["id"], row["name"], row["member_count"]) == (segment.pk, "Buyers", 1)
    assert row["last_computed_at"]
    trend = row["trend"]
    assert len(trend) == 30
    assert trend[0] == {"day": (today - timedelta(days=29)).isoformat(), "count": 7}  # carried in
    by_day = {point["day"]: point["count"] for point in trend}
    assert by_day[(today - timedelta(days=11)).isoformat()] == 7
    assert by_day[(today - timedelta(days=10)).isoformat()] == 4
    assert by_day[(today - timedelta(days=6)).isoformat()] == 4
    assert by_day[(today - timedelta(days=5)).isoformat()] == 6
    assert by_day[today.isoformat()] == 1  # today's compute


def test_segments_trend_starts_at_the_first_known_day_and_is_empty_before_two(team: Team) -> None:
    _send(team.tenant, ["a", "b"], "order_placed")
    yesterday = timezone.now() - timedelta(days=1)
    segment = _segment(team, "Buyers", "order_placed", now=yesterday)
    assert _get(team, "segments")[0]["trend"] == []  # one day known

    segment_compute_run(segment_id=segment.pk)

    assert _get(team, "segments")[0]["trend"] == [
        {"day": yesterday.date().isoformat(), "count": 2},
        {"day": timezone.now().date().isoformat(), "count": 2},
    ]


def test_overlap_pairs_segments_by_shared_current_members(team: Team) -> None:
    _send(team.tenant, ["a", "b", "c", "d"], "order_placed")
    _send(team.tenant, ["a", "b"], "page_viewed")
    _send(team.tenant, ["a", "e", "f", "g", "h"], "signed_up")
    buyers = _segment(team, "Buyers", "order_placed")  # a b c d
    readers = _segment(team, "Readers", "page_viewed")  # a b
    _segment(team, "Nobody", "never_sent")
    signups = _segment(team, "Sign-ups", "signed_up")  # a e f g h

    assert _get(team, "overlap") == [
        {
            "seg_a_id": buyers.pk,
            "seg_a_name": "Buyers",
            "seg_b_id": readers.pk,
            "seg_b_name": "Readers",
            "overlap": 2,
            "overlap_pct": 100.0,  # 2 of the smaller segment's 2
        },
        {
            "seg_a_id": buyers.pk,
            "seg_a_name": "Buyers",
            "seg_b_id": signups.pk,
            "seg_b_name": "Sign-ups",
            "overlap": 1,
            "overlap_pct": 25.0,
        },
        {
            "seg_a_id": readers.pk,
            "seg_a_name": "Readers",
            "seg_b_id": signups.pk,
            "seg_b_name": "Sign-ups",
            "overlap": 1,
            "overlap_pct": 50.0,
        },
    ]


def test_overlap_reads_only_the_current_member_sets(team: Team) -> None:
    _send(team.tenant, ["a", "b"], "order_placed")
    _send(team.tenant, ["a", "b"], "page_viewed")
    buyers = _segment(team, "Buyers", "order_placed")
    _segment(team, "Readers", "page_viewed")
    assert _get(team, "overlap")[0]["overlap"] == 2

    buyers.definition = _rule("never_sent")
    buyers.save()
    segment_compute_run(segment_id=buyers.pk)  # the old set is replaced by an empty one

    assert _get(team, "overlap") == []


def test_overlap_counts_members_whatever_compute_brought_them_in(team: Team) -> None:
    _send(team.tenant, ["a", "b"], "order_placed")
    _send(team.tenant, ["a", "b", "c"], "page_viewed")
    buyers = _segment(team, "Buyers", "order_placed")  # a b, in since its first compute
    _segment(team, "Readers", "page_viewed")
    _send(team.tenant, ["c"], "order_placed")
    segment_compute_run(segment_id=buyers.pk)  # c comes in with the second; a and b stay

    assert _get(team, "overlap")[0]["overlap"] == 3


def test_overlap_is_empty_with_fewer_than_two_segments(team: Team) -> None:
    _send(team.tenant, ["a"], "order_placed")
    _segment(team, "Buyers", "order_placed")

    assert _get(team, "overlap") == []


def test_activations_show_the_success_rate_of_finished_syncs_and_the_log(team: Team) -> None:
    _send(team.tenant, ["a", "b"], "order_placed")
    segment = _segment(team, "Buyers", "order_placed")
    activation = Activation(
        tenant=team.tenant,
        segment=segment,
        connector_type=ConnectorType.WEBHOOK,
        config={"url": "https://example.com/hook", "secret": "zebra-secret"},
        status="error",
        last_error="The receiver answered 500.",
    )
    activation.save()
    idle = Activation(tenant=team.tenant, segment=segment, connector_type=ConnectorType.WEBHOOK, config={})
    idle.save()
    now = timezone.now()
    for status in (
        SyncStatus.SUCCEEDED,
        SyncStatus.SUCCEEDED,
        SyncStatus.SUCCEEDED,
        SyncStatus.FAILED,
        SyncStatus.RUNNING,
    ):
        ActivationSync(
            tenant=team.tenant,
            activation=activation,
            kind=SyncKind.FULL,
            generation=1,
            status=status,
            started_at=now,
        ).save()

    rows = _get(team, "activations")

    by_id = {row["id"]: row for row in rows}
    busy = by_id[activation.pk]
    assert busy["segment_id"] == segment.pk
    assert busy["segment_name"] == "Buyers"
    assert busy["connector_type"] == "webhook"
    assert busy["status"] == "error"
    assert busy["last_error"] == "The receiver answered 500."
    assert busy["member_count"] == 2
    assert busy["success_rate"] == 75.0  # 3 of the 4 finished; the running one is not counted
    assert [s["status"] for s in busy["sync_logs"]] == [
        "running",
        "failed",
        "succeeded",
        "succeeded",
        "succeeded",
    ]
    assert "zebra-secret" not in str(rows)
    assert by_id[idle.pk]["success_rate"] is None
    assert by_id[idle.pk]["sync_logs"] == []


def test_usage_puts_the_plans_limits_next_to_this_months_figures(team: Team) -> None:
    team.tenant.plan = "free"
    team.tenant.save()
    now = timezone.now()
    first_of_month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    _send(team.tenant, ["a", "b"], "order_placed")
    last_month = event_validate(
        {"user_id": "c", "event_type": "order_placed"}, now=first_of_month - timedelta(days=2)
    )
    events_store(tenant=team.tenant, events=[last_month], received_at=first_of_month - timedelta(days=2))
    _segment(team, "Buyers", "order_placed")

    usage = _get(team, "usage")

    assert usage == {
        "plan": "free",
        "period_start": first_of_month.isoformat().replace("+00:00", "Z"),
        "events_this_month": 2,
        "events_limit": 500_000,
        "api_calls_per_minute_limit": 60,
        "segments": 1,
        "members": 3,
    }


def test_usage_says_null_for_an_unlimited_plan(team: Team) -> None:
    team.tenant.plan = "enterprise"
    team.tenant.save()

    usage = _get(team, "usage")

    assert (usage["events_limit"], usage["api_calls_per_minute_limit"]) == (None, None)


@pytest.mark.parametrize("what", ["overview", "segments", "overlap", "activations", "usage"])
def test_it_is_read_by_viewers_and_keys_with_segments_read_of_their_own_tenant(team: Team, what: str) -> None:
    _send(team.tenant, ["a"], "order_placed")
    _send(team.tenant, ["a"], "page_viewed")
    _segment(team, "Zebra buyers", "order_placed")
    _segment(team, "Zebra readers", "page_viewed")
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    ingestor = key_client(make_api_key(team.tenant, scopes=["events:write"]).key)

    assert reader.get(f"/api/analytics/{what}/").status_code == 200
    assert ingestor.get(f"/api/analytics/{what}/").status_code == 403
    assert team.client("viewer").post(f"/api/analytics/{what}/").status_code == 405
    assert "Zebra" not in str(_get(team, what, "outsider"))  # the outsider's own tenant
