"""API keys: secret (sk_) keys for servers, public (pk_) keys for browsers and apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from segops_server.access.policy import Credential
from segops_server.accounts.models import Tenant
from segops_server.core.scoping import TenantScopedManager


class KeyType(models.TextChoices):
    SECRET = "secret", "Secret"
    PUBLIC = "public", "Public"


class KeyStatus(models.TextChoices):
    """Derived from revoked_at and expires_at, never stored."""

    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Environment(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class Scope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Send events"
    SEGMENTS_READ = "segments:read", "Read segments and membership"
    SEGMENTS_WRITE = "segments:write", "Create, change and compute segments"
    WEBHOOKS_WRITE = "webhooks:write", "Manage webhooks and activations (they send members out)"
    IDENTITY_WRITE = "identity:write", "Alias and merge user identities"


ALL_SCOPES = [scope.value for scope in Scope]
KIND_PREFIX = {KeyType.SECRET: "sk", KeyType.PUBLIC: "pk"}


class ApiKey(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=KeyType.choices, default=KeyType.SECRET)
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    # The tagged digest is the only trace of the key itself; unique so a lookup is one index probe.
    digest = models.CharField(max_length=80, unique=True)
    display_prefix = models.CharField(max_length=16)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    rolled_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Public keys only.
    allowed_origins = models.JSONField(default=list)
    require_signed_user_id = models.BooleanField(default=False)
    # The server must compute HMACs with it, so it cannot be stored as a one-way digest; it is
    # never returned after creation.
    hmac_secret = models.CharField(max_length=64, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apikey_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.display_prefix}… ({self.name})"

    @property
    def bound_tenant(self) -> Tenant:
        """The only tenant this credential may act on (read by access/tenants.py)."""
        return self.tenant

    @property
    def credential(self) -> Credential:
        """The kind of credential this key is, as access policies name it."""
        return Credential.SECRET_KEY if self.type == KeyType.SECRET else Credential.PUBLIC_KEY

    @property
    def status(self) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
