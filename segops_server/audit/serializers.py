"""Output shape of audit events."""

from __future__ import annotations

from rest_framework import serializers

from segops_server.audit.models import Action, AuditEvent


class AuditEventSerializer(serializers.Serializer[AuditEvent]):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.SerializerMethodField()
    api_key_id = serializers.IntegerField(allow_null=True)
    key_prefix = serializers.CharField()
    client_ip = serializers.CharField(allow_null=True)
    detail = serializers.JSONField()
    created_at = serializers.DateTimeField()

    def get_actor(self, obj: AuditEvent) -> str | None:
        return obj.actor.email if obj.actor else None


class AuditQuerySerializer(serializers.Serializer[None]):
    action = serializers.ChoiceField(choices=Action.choices, required=False)
