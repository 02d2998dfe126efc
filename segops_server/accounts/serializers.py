"""Input and output shapes for people, tenants and teams."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from segops_server.accounts.models import (
    INVITABLE_ROLES,
    Invitation,
    Membership,
    Role,
    Tenant,
    User,
    slug_validator,
)


class UserOutSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    date_joined = serializers.DateTimeField()


_Shown = TypeVar("_Shown", Tenant, Membership)


# A tenant's fields, shown from the tenant itself or from one of its memberships. A comment, not
# a docstring: drf-spectacular would give it to TenantOut as its description in the schema.
class _TenantFields(serializers.Serializer[_Shown]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    created_at = serializers.DateTimeField()


class TenantOutSerializer(_TenantFields[Tenant]):
    pass


class MyTenantSerializer(_TenantFields[Membership]):
    """A tenant as seen by one of its people, with that person's role."""

    role = serializers.CharField()  # the fields say what the answer holds (the OpenAPI schema)

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        data = TenantOutSerializer(instance.tenant).data
        return {**data, "role": instance.role}


def _validate_password(value: str, email: str | None = None) -> str:
    from segops_server.accounts.models import User

    try:
        password_validation.validate_password(value, user=User(email=email or ""))
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None
    return value


class SlugField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=3, max_length=40, validators=[slug_validator], **kwargs)


class RegisterSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    tenant_name = serializers.CharField(max_length=100, required=False)
    tenant_slug = SlugField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _validate_password_field(attrs)
        return attrs


def _validate_password_field(attrs: dict[str, Any], field: str = "password") -> None:
    try:
        _validate_password(attrs[field], attrs.get("email"))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({field: exc.detail}) from None


class TokenObtainSerializer(serializers.Serializer[None]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer[None]):
    refresh = serializers.CharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer[dict[str, str]]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RegisterOutSerializer(serializers.Serializer[dict[str, Any]]):
    user = UserOutSerializer()
    tenant = TenantOutSerializer(allow_null=True)
    access = serializers.CharField()
    refresh = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer[None]):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            _validate_password(attrs["new_password"], self.context["request"].user.email)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"new_password": exc.detail}) from None
        return attrs


class TenantCreateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    slug = SlugField()


class TenantUpdateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100, required=False)
    slug = SlugField(required=False)


class MemberOutSerializer(serializers.Serializer[Membership]):
    # The fields say what the answer holds (the OpenAPI schema); to_representation fills them.
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField()

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return {
            "user_id": instance.user_id,
            "email": instance.user.email,
            "role": instance.role,
            "joined_at": serializers.DateTimeField().to_representation(instance.created_at),
        }


class InvitationOutSerializer(serializers.Serializer[Invitation]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="invited, or expired (the link no longer works).")


class InvitationIssuedSerializer(InvitationOutSerializer):
    """The answer to an invite: the only time the token is shown."""

    token = serializers.CharField()
    accept_url = serializers.URLField()


class InvitationAcceptSerializer(serializers.Serializer[None]):
    token = serializers.CharField(max_length=200)


class MemberInviteSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=[r.value for r in INVITABLE_ROLES])


class MemberRoleSerializer(serializers.Serializer[None]):
    role = serializers.ChoiceField(choices=[r.value for r in Role])
