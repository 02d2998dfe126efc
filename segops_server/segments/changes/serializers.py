"""Input and output shapes of the change feed."""

from __future__ import annotations

from rest_framework import serializers

from segops_server.core.cursors import DEFAULT_LIMIT, MAX_LIMIT
from segops_server.segments.models import ChangeKind, SegmentChange


class ChangeSerializer(serializers.Serializer[SegmentChange]):
    user_id = serializers.CharField()
    change = serializers.ChoiceField(choices=ChangeKind.choices)
    at = serializers.DateTimeField()
    generation = serializers.IntegerField()


class ChangesQuerySerializer(serializers.Serializer[None]):
    """The members feed's paging, with the cursor named `since`: the feed is polled from it."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    since = serializers.CharField(required=False, max_length=500)
