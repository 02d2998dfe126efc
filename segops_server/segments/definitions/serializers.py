"""Input and output shapes of segments, their saved versions and the preview of a definition."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.segments.models import Segment, SegmentType, SegmentVersion


class SegmentSerializer(serializers.Serializer[Segment]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    segment_type = serializers.ChoiceField(choices=SegmentType.choices, required=False)
    definition = serializers.JSONField(required=False, allow_null=True)
    refresh_interval_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=5, max_value=7 * 24 * 60
    )
    # Spec §13: kept up to date by events and time (true), or as old as the last compute (false).
    realtime = serializers.BooleanField(required=False)
    last_live_change_at = serializers.DateTimeField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    error = serializers.CharField(read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    last_computed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    computed_version = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_computed_version(self, obj: Segment) -> int | None:
        version = obj.computed_version
        return version.number if version else None

    def validate_segment_type(self, value: str) -> str:
        if value != SegmentType.RULE:
            raise serializers.ValidationError("Only rule segments can be created on this installation.")
        return value


class SegmentVersionSerializer(serializers.Serializer[SegmentVersion]):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    definition = serializers.JSONField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()

    def get_created_by(self, obj: SegmentVersion) -> str | None:
        return obj.created_by.email if obj.created_by else None


class PreviewSerializer(serializers.Serializer[None]):
    definition = serializers.JSONField()
    limit = serializers.IntegerField(min_value=0, max_value=100, default=10)


class PreviewOutSerializer(serializers.Serializer[dict[str, Any]]):
    matched_users = serializers.IntegerField()
    sample_user_ids = serializers.ListField(child=serializers.CharField())
    sql = serializers.CharField()
    params = serializers.ListField(child=serializers.CharField())


class EstimateSerializer(serializers.Serializer[dict[str, Any]]):
    segment_id = serializers.IntegerField()
    estimated_members = serializers.IntegerField()
    exact = serializers.BooleanField(
        help_text="true: counted now; false: the count took too long, this is the last computed size."
    )
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the count was made (the last compute's time when not exact)."
    )
