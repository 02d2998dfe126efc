"""Shapes of the explorer's answers: users found, a user's profile, a user's events, and their queries."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.ingestion.models import Event, UserProfile


class UserSummarySerializer(serializers.Serializer[UserProfile]):
    user_id = serializers.CharField()
    event_count = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class UserProfileSerializer(UserSummarySerializer):
    properties = serializers.JSONField()
    properties_updated_at = serializers.DateTimeField(source="properties_at", allow_null=True)


class EventOutSerializer(serializers.Serializer[Event]):
    id = serializers.IntegerField()
    user_id = serializers.CharField()
    event_type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    payload = serializers.JSONField()
    anonymous_id = serializers.CharField(allow_null=True)
    schema_violations = serializers.JSONField(
        allow_null=True, help_text="[{path, message}] when the type's schema warned on it; else null."
    )


class UserSearchQuerySerializer(serializers.Serializer[None]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=MAX_ID_LENGTH, default="")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class UserEventsQuerySerializer(serializers.Serializer[None]):
    event_type = serializers.CharField(required=False, max_length=100)
    since = serializers.DateTimeField(
        required=False, help_text="Only events that occurred at or after this time (ISO 8601)."
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=500)


class SandboxEventSerializer(serializers.Serializer[None]):
    """The sandbox's body, for the schema: it is validated as ingestion validates one event."""

    user_id = serializers.CharField()
    event_type = serializers.CharField()
    occurred_at = serializers.DateTimeField(required=False)
    payload = serializers.JSONField(required=False)
    anonymous_id = serializers.CharField(required=False)


class SandboxSegmentSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SandboxResultSerializer(serializers.Serializer[dict[str, Any]]):
    published = serializers.BooleanField(help_text="Always true; nothing was stored.")
    entered = SandboxSegmentSerializer(many=True)
    exited = SandboxSegmentSerializer(many=True)
    unchanged_count = serializers.IntegerField()
    skipped = SandboxSegmentSerializer(
        many=True, help_text="Segments whose saved rule cannot be evaluated (it names a deleted segment)."
    )
