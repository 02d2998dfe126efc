"""Input and output shapes for webhooks and their deliveries. A secret is write-only: only the
creation answer (WebhookCreatedSerializer) shows it, once."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, DeliveryAttempt, DeliveryStatus, Webhook
from segops_server.webhooks.services import MIN_SECRET_LENGTH

MAX_SEGMENT_IDS = 100
MAX_ID = 2**63 - 1


class FlatListField(serializers.ListField):
    """A list whose items' errors read as one list of messages ("Item 2: …"): the API's one
    field-error shape, {"field": ["…"]}, rather than DRF's {"field": {"1": ["…"]}}."""

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        try:
            return super().run_child_validation(data)  # type: ignore[no-any-return]
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            messages = [
                f"Item {int(index) + 1}: {message}"
                for index, errors in exc.detail.items()
                for message in (errors if isinstance(errors, list) else [errors])
            ]
            raise serializers.ValidationError(messages) from None


class WebhookWriteSerializer(serializers.Serializer[None]):
    """POST and PATCH bodies (PATCH: any subset). `url` is vetted by the service (ssrf.py)."""

    url = serializers.CharField(max_length=2000)
    secret = serializers.CharField(
        min_length=MIN_SECRET_LENGTH, max_length=200, required=False, write_only=True, trim_whitespace=False
    )
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)
    events = FlatListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        allow_empty=False,
        max_length=10,
        required=False,
        help_text="Which events to send; default both.",
    )
    segment_ids = FlatListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_null=True,
        allow_empty=False,
        max_length=MAX_SEGMENT_IDS,
        required=False,
        help_text="Only these segments' events; null (the default) for every segment.",
    )


class WebhookSerializer(serializers.Serializer[Webhook]):
    """A webhook as every answer but its creation shows it: never its secret."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    events = FlatListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS))
    segment_ids = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()


class WebhookCreatedSerializer(WebhookSerializer):
    """The creation answer: the one time the secret is shown."""

    secret = serializers.CharField()


class AttemptSerializer(serializers.Serializer[DeliveryAttempt]):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response = serializers.CharField(help_text="The first 1 KB of the receiver's answer.")
    error = serializers.CharField(help_text="Why the attempt failed, when it did without an answer.")


class DeliverySerializer(serializers.Serializer[Delivery]):
    id = serializers.IntegerField()
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    message_id = serializers.CharField()
    segment_id = serializers.IntegerField(allow_null=True)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    attempts = AttemptSerializer(many=True, source="attempts.all")


class DeliveryQuerySerializer(serializers.Serializer[None]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
