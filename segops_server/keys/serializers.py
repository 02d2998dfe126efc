"""Input and output shapes for API keys and the public-key session handshake."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from segops_server.core.ids import (
    MAX_ANONYMOUS_ID_LENGTH,
    UserIdField,
    anonymous_id_parse,
    named_user_id_parse,
)
from segops_server.keys.models import ALL_SCOPES, ApiKey, Environment, KeyType

MAX_GRACE_HOURS = 24 * 30


def _validate_origin(value: str) -> str:
    parts = urlsplit(value)
    host = parts.netloc.removeprefix("*.")
    if (
        parts.scheme not in ("http", "https")
        or not host
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "*" in host
        or (parts.netloc.startswith("*.") and parts.scheme != "https")
    ):
        raise serializers.ValidationError(
            f"{value!r} is not an origin: use https://app.example.com or https://*.example.com."
        )
    return value.rstrip("/").lower()


class ApiKeyCreateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=KeyType.choices, default=KeyType.SECRET)
    environment = serializers.ChoiceField(choices=Environment.choices, default=Environment.LIVE)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES), default=lambda: list(ALL_SCOPES), max_length=10
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=255),
        default=list,
        max_length=50,
    )
    require_signed_user_id = serializers.BooleanField(default=False)
    tenant_slug = serializers.CharField(required=False)
    tenant = serializers.CharField(required=False)

    def validate_scopes(self, value: list[str]) -> list[str]:
        if not value:
            raise serializers.ValidationError("Give at least one scope.")
        return value

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        return [_validate_origin(origin) for origin in value]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] == KeyType.SECRET and (attrs["allowed_origins"] or attrs["require_signed_user_id"]):
            raise serializers.ValidationError(
                {"type": ["allowed_origins and require_signed_user_id apply to public keys only."]}
            )
        attrs.pop("tenant_slug", None)
        attrs.pop("tenant", None)
        return attrs


class ApiKeySerializer(serializers.Serializer[ApiKey]):
    """Metadata only: never the key, its digest or a public key's HMAC secret."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    environment = serializers.CharField()
    prefix = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    rolled_into = serializers.IntegerField(source="rolled_into_id", allow_null=True)
    allowed_origins = serializers.ListField(child=serializers.CharField())
    require_signed_user_id = serializers.BooleanField()

    def get_prefix(self, obj: ApiKey) -> str:
        return obj.display_prefix + "…"

    def get_created_by(self, obj: ApiKey) -> str | None:
        return obj.created_by.email if obj.created_by else None


class ApiKeyIssuedSerializer(ApiKeySerializer):
    """The creation (or roll) answer: the one time the key and HMAC secret are shown."""

    key = serializers.CharField()
    hmac_secret = serializers.CharField(required=False)


class ApiKeyRollSerializer(serializers.Serializer[None]):
    grace_period_hours = serializers.IntegerField(min_value=0, max_value=MAX_GRACE_HOURS, default=24)


class RevokeLeakedSerializer(serializers.Serializer[None]):
    key = serializers.CharField(max_length=200)


class SessionRequestSerializer(serializers.Serializer[None]):
    user_id = UserIdField(parse=named_user_id_parse, required=False)
    anonymous_id = UserIdField(parse=anonymous_id_parse, max_length=MAX_ANONYMOUS_ID_LENGTH, required=False)
    user_id_sig = serializers.CharField(max_length=128, required=False)
    user_id_ts = serializers.IntegerField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("anonymous_id"):
            raise serializers.ValidationError({"user_id": ["Give user_id or anonymous_id."]})
        return attrs


class SessionSerializer(serializers.Serializer[dict[str, Any]]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    uid = serializers.CharField()


class WhoAmISerializer(serializers.Serializer[dict[str, Any]]):
    authenticated = serializers.BooleanField()
    kind = serializers.CharField(allow_null=True)
    tenant = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
