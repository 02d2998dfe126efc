"""Input and output shapes of event schemas, inference and validation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from segops_server.ingestion.validation import EVENT_TYPE_RE, MAX_BATCH_EVENTS, MAX_EVENT_TYPE_LENGTH
from segops_server.schemas.models import Enforcement, EventSchema, PropertyType

MAX_PROPERTY_NAME = 200
_TYPES = ", ".join(PropertyType.values)


def _event_type_check(value: str) -> None:
    if not EVENT_TYPE_RE.fullmatch(value):
        raise serializers.ValidationError("Use snake_case (e.g. order_placed), as events do.")


def _properties_clean(value: Any) -> dict[str, dict[str, Any]]:
    """{name: {type, required}}: each name a non-empty string, each type a JSON type name."""
    if not isinstance(value, dict):
        raise serializers.ValidationError('An object: {"name": {"type": "string", "required": true}, …}.')
    cleaned: dict[str, dict[str, Any]] = {}
    for name, spec in value.items():
        if not name or len(name) > MAX_PROPERTY_NAME or "\x00" in name:
            raise serializers.ValidationError(
                f"Property names are 1 to {MAX_PROPERTY_NAME} characters, without NUL."
            )
        if not isinstance(spec, dict) or set(spec) - {"type", "required"}:
            raise serializers.ValidationError(f'{name}: an object {{"type": …, "required": true|false}}.')
        if spec.get("type") not in PropertyType.values:
            raise serializers.ValidationError(f"{name}: type is one of {_TYPES}.")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise serializers.ValidationError(f"{name}: required is true or false.")
        cleaned[name] = {"type": spec["type"], "required": required}
    return cleaned


class EventSchemaSerializer(serializers.Serializer[EventSchema]):
    """The schema object (spec §17)."""

    id = serializers.IntegerField(read_only=True)
    event_type = serializers.CharField(max_length=MAX_EVENT_TYPE_LENGTH, validators=[_event_type_check])
    properties = serializers.JSONField(
        help_text='{"amount": {"type": "number", "required": true}}; types: ' + _TYPES + "."
    )
    enforcement = serializers.ChoiceField(choices=Enforcement.choices, default=Enforcement.OFF)
    violation_count = serializers.IntegerField(
        read_only=True, help_text="Events stored with violations (warn)."
    )
    rejection_count = serializers.IntegerField(
        read_only=True, help_text="Events refused or skipped (reject)."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def validate_properties(self, value: Any) -> dict[str, dict[str, Any]]:
        return _properties_clean(value)


class EventSchemaUpdateSerializer(EventSchemaSerializer):
    event_type = serializers.CharField(
        max_length=MAX_EVENT_TYPE_LENGTH, validators=[_event_type_check], required=False
    )
    properties = serializers.JSONField(required=False)
    enforcement = serializers.ChoiceField(choices=Enforcement.choices, required=False)


class SampleEventSerializer(serializers.Serializer[None]):
    event_type = serializers.CharField(max_length=MAX_EVENT_TYPE_LENGTH, validators=[_event_type_check])
    payload = serializers.DictField(required=False, default=dict)


class InferInSerializer(serializers.Serializer[None]):
    events = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_BATCH_EVENTS,
        help_text="Sample events: {event_type, payload?} each (other fields are ignored).",
    )

    def validate_events(self, value: list[Any]) -> list[dict[str, Any]]:
        """Each sample checked, its errors named by index in one flat list (the field-error shape)."""
        samples = []
        for index, raw in enumerate(value):
            sample = SampleEventSerializer(data=raw)
            if not sample.is_valid():
                problems = sample.errors
                if isinstance(problems, dict):
                    described = "; ".join(
                        f"{field}: {' '.join(map(str, m))}" for field, m in problems.items()
                    )
                else:
                    described = " ".join(map(str, problems))
                raise serializers.ValidationError(f"Event {index}: {described}")
            samples.append(dict(sample.validated_data))
        return samples


class InferredSchemaSerializer(serializers.Serializer[None]):
    event_type = serializers.CharField()
    properties = serializers.JSONField()
    events = serializers.IntegerField(help_text="How many samples of this type were read.")


class InferOutSerializer(serializers.Serializer[None]):
    results = InferredSchemaSerializer(many=True)


class ValidateInSerializer(serializers.Serializer[None]):
    event_type = serializers.CharField(max_length=MAX_EVENT_TYPE_LENGTH, validators=[_event_type_check])
    payload = serializers.DictField()


class ViolationSerializer(serializers.Serializer[None]):
    path = serializers.CharField(help_text="payload.<property>")
    message = serializers.CharField()


# "errors" would shadow Serializer.errors on a class, hence the inline form.
ValidateOutSerializer = inline_serializer(
    "SchemaValidation",
    fields={
        "valid": serializers.BooleanField(),
        "errors": ViolationSerializer(many=True),
        "schema": serializers.IntegerField(
            allow_null=True, help_text="The schema checked; null if the event type has none."
        ),
    },
)
