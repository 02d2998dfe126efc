"""Input and output shapes of activations and their sync logs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from segops_server.activations.connectors import config_masked
from segops_server.activations.models import (
    AVAILABLE_CONNECTORS,
    Activation,
    ActivationStatus,
    ActivationSync,
    ConnectorType,
    SyncKind,
    SyncStatus,
)
from segops_server.core.converters import MAX_ID_DIGITS


class ActivationSyncSerializer(serializers.Serializer[ActivationSync]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SyncKind.choices)
    generation = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SyncStatus.choices)
    entered = serializers.IntegerField()
    exited = serializers.IntegerField()
    batches = serializers.IntegerField()
    batches_done = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When its batches were queued; null while the worker reads a full sync's members.",
    )
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class ActivationSerializer(serializers.Serializer[Activation]):
    """The activation object (spec §11); `config` reads back with its secrets as "***"."""

    id = serializers.IntegerField(read_only=True)
    segment = serializers.IntegerField(source="segment_id", min_value=1, max_value=10**MAX_ID_DIGITS - 1)
    connector_type = serializers.ChoiceField(choices=ConnectorType.choices)
    config = serializers.JSONField(
        help_text='For "webhook": {"url": "https://…", "secret": "…"}. Secrets read back as "***".'
    )
    status = serializers.ChoiceField(
        choices=ActivationStatus.choices,
        required=False,
        help_text='New activations start "inactive" whatever is sent; PATCH "active" enables, '
        '"inactive" pauses; "error" is set by a failed sync only.',
    )
    last_synced_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_sync = serializers.SerializerMethodField()

    def to_representation(self, instance: Activation) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["config"] = config_masked(instance.config)
        return data

    @extend_schema_field(ActivationSyncSerializer(allow_null=True))
    def get_last_sync(self, obj: Activation) -> dict[str, Any] | None:
        sync = self.context.get("last_syncs", {}).get(obj.pk)
        return None if sync is None else dict(ActivationSyncSerializer(sync).data)

    def validate_connector_type(self, value: str) -> str:
        if value not in AVAILABLE_CONNECTORS:
            raise serializers.ValidationError(f"{value} is not available in this installation.")
        return value


class ActivationUpdateSerializer(serializers.Serializer[Activation]):
    """What a PATCH may change: the config and the status (segment and connector type are fixed)."""

    config = serializers.JSONField(required=False)
    status = serializers.ChoiceField(choices=ActivationStatus.choices, required=False)
    segment = serializers.IntegerField(required=False, help_text="Fixed: only the current value is accepted.")
    connector_type = serializers.CharField(
        required=False, help_text="Fixed: only the current value is accepted."
    )

    def validate_status(self, value: str) -> str:
        if value == ActivationStatus.ERROR:
            raise serializers.ValidationError("Only a failed sync puts an activation in error.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        activation = self.instance
        assert activation is not None
        if "segment" in attrs and attrs.pop("segment") != activation.segment_id:
            raise serializers.ValidationError(
                {"segment": ["An activation's segment cannot change; create another."]}
            )
        if "connector_type" in attrs and attrs.pop("connector_type") != activation.connector_type:
            raise serializers.ValidationError(
                {"connector_type": ["An activation's connector type cannot change; create another."]}
            )
        return attrs


class ActivationListQuerySerializer(serializers.Serializer[None]):
    segment = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=10**MAX_ID_DIGITS - 1,
        help_text="Only this segment's activations.",
    )
