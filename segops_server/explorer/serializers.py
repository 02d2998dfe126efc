"""Shapes of the explorer's answers: users found, a user's profile, a user's events, and their queries."""

from __future__ import annotations

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
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=500)
