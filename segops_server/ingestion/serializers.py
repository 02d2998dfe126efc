"""Shapes of ingestion answers."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from segops_server.core.ids import MAX_ID_LENGTH


class EventInSerializer(serializers.Serializer[None]):
    """Documentation of one event (validation itself runs in ingestion.validation)."""

    user_id = serializers.CharField(
        max_length=MAX_ID_LENGTH,
        required=False,
        help_text="Required with a secret key unless anonymous_id is sent alone; never starts with anon_. "
        "A session's uid wins.",
    )
    event_type = serializers.RegexField(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", max_length=100)
    occurred_at = serializers.DateTimeField(required=False)
    payload = serializers.DictField(required=False, help_text="A JSON object, at most 32 KB.")
    anonymous_id = serializers.CharField(
        max_length=250,
        required=False,
        help_text="Alone, an anonymous visitor: stored as anon_<anonymous_id>.",
    )
    message_id = serializers.CharField(max_length=255, required=False, help_text="Idempotency key.")


class BatchInSerializer(serializers.Serializer[None]):
    events = EventInSerializer(many=True)


class QueuedSerializer(serializers.Serializer[dict[str, bool]]):
    queued = serializers.BooleanField()


# "errors" would shadow Serializer.errors on a class, hence the inline form.
BatchQueuedSerializer = inline_serializer(
    "BatchQueued",
    fields={
        "queued": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
        "rejected": serializers.IntegerField(help_text="Of the skipped, those refused by a reject schema."),
        "violations": serializers.IntegerField(
            help_text="Of the queued, those stored with a warn schema's violations."
        ),
        "errors": serializers.ListField(
            child=serializers.DictField(),
            help_text='The first 50 skipped: {index, field, message, reason: "invalid"|"schema"}.',
        ),
    },
)
