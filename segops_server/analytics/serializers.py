"""Shapes of the analytics answers (spec §16)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.activations.serializers import ActivationSyncSerializer

Row = dict[str, Any]


class OverviewSerializer(serializers.Serializer[Row]):
    segment_count = serializers.IntegerField()
    total_members = serializers.IntegerField(help_text="The sum of the segments' current sizes.")
    events_30d = serializers.IntegerField(help_text="Events that occurred in the last 30 days.")
    ai_credits_used = serializers.IntegerField()
    ai_credits_limit = serializers.IntegerField()


class TrendPointSerializer(serializers.Serializer[Row]):
    day = serializers.DateField()
    count = serializers.IntegerField()


class SegmentTrendSerializer(serializers.Serializer[Row]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    member_count = serializers.IntegerField()
    last_computed_at = serializers.DateTimeField(allow_null=True)
    trend = TrendPointSerializer(
        many=True, help_text="The last 30 days, one point a day; empty while fewer than 2 days are known."
    )


class OverlapSerializer(serializers.Serializer[Row]):
    seg_a_id = serializers.IntegerField()
    seg_a_name = serializers.CharField()
    seg_b_id = serializers.IntegerField()
    seg_b_name = serializers.CharField()
    overlap = serializers.IntegerField(help_text="Users in both segments' current member sets.")
    overlap_pct = serializers.FloatField(help_text="overlap / min(count_a, count_b) * 100")


class ActivationStatsSerializer(serializers.Serializer[Row]):
    id = serializers.IntegerField()
    segment_id = serializers.IntegerField()
    segment_name = serializers.CharField()
    connector_type = serializers.CharField()
    status = serializers.CharField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    member_count = serializers.IntegerField()
    success_rate = serializers.FloatField(
        allow_null=True, help_text="Succeeded syncs / finished syncs * 100; null before any has finished."
    )
    sync_logs = ActivationSyncSerializer(many=True, help_text="The newest syncs, newest first (at most 10).")


class UsageSerializer(serializers.Serializer[Row]):
    plan = serializers.CharField()
    period_start = serializers.DateTimeField()
    events_this_month = serializers.IntegerField()
    events_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    api_calls_per_minute_limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    segments = serializers.IntegerField()
    members = serializers.IntegerField()
