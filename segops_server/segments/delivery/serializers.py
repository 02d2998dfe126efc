"""Input and output shapes of memberships: members, the delivery API's query, a user's segments, explain."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.core.cursors import CursorQuerySerializer
from segops_server.core.ids import UserIdField


class MemberSerializer(serializers.Serializer[dict[str, Any]]):
    user_id = serializers.CharField()
    computed_at = serializers.DateTimeField()


class MembersQuerySerializer(CursorQuerySerializer):
    pass


class MembershipQuerySerializer(serializers.Serializer[None]):
    user_id = UserIdField()
    segment_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class UserSegmentSerializer(serializers.Serializer[dict[str, Any]]):
    segment_id = serializers.IntegerField()
    segment_name = serializers.CharField()
    member_count = serializers.IntegerField()
    computed_at = serializers.DateTimeField()


class ExplainConditionSerializer(serializers.Serializer[dict[str, Any]]):
    index = serializers.IntegerField()
    type = serializers.CharField()
    matched = serializers.BooleanField()
    value = serializers.JSONField(allow_null=True, help_text="What was seen: a count, days, a sum, a value.")


class ExplainSerializer(serializers.Serializer[dict[str, Any]]):
    user_id = serializers.CharField()
    segment_id = serializers.IntegerField()
    logic = serializers.CharField(allow_null=True)
    matched = serializers.BooleanField()
    evaluated_at = serializers.DateTimeField()
    conditions = ExplainConditionSerializer(many=True)
