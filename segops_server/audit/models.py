"""The audit trail: who did what to a tenant's credentials and team, and every failed authentication."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from segops_server.core.scoping import TenantScopedManager


class Action(models.TextChoices):
    LOGIN = "auth.login", "Signed in"
    LOGIN_FAILED = "auth.login_failed", "Failed sign-in"
    KEY_CREATED = "key.created", "Key created"
    KEY_ROLLED = "key.rolled", "Key rolled"
    KEY_REVOKED = "key.revoked", "Key revoked"
    KEY_REVOKED_LEAKED = "key.revoked_leaked", "Key revoked as leaked"
    KEY_USED_AFTER_REVOCATION = "key.used_after_revocation", "Revoked key used"
    KEY_AUTH_FAILED = "key.auth_failed", "Failed key authentication"
    SEGMENT_EXPORTED = "segment.exported", "Segment export requested"
    SEGMENT_EXPORT_DOWNLOADED = "segment.export_downloaded", "Segment export downloaded"
    MEMBER_INVITED = "member.invited", "Person invited"
    INVITATION_ACCEPTED = "member.invitation_accepted", "Invitation accepted"
    INVITATION_REVOKED = "member.invitation_revoked", "Invitation revoked"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    TENANT_CREATED = "tenant.created", "Tenant created"
    TENANT_RENAMED = "tenant.renamed", "Tenant renamed"
    TENANT_SLUG_CHANGED = "tenant.slug_changed", "Tenant slug changed"
    TENANT_DELETED = "tenant.deleted", "Tenant deleted"
    WEBHOOK_CREATED = "webhook.created", "Webhook created"
    WEBHOOK_CHANGED = "webhook.changed", "Webhook changed"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook deleted"
    WEBHOOK_DISABLED = "webhook.disabled", "Webhook disabled after 24 hours of failures"
    ACTIVATION_CREATED = "activation.created", "Activation created"
    ACTIVATION_CHANGED = "activation.changed", "Activation changed"
    ACTIVATION_DELETED = "activation.deleted", "Activation deleted"
    IDENTITY_ALIASED = "identity.aliased", "Anonymous id aliased to a user"
    IDENTITY_MERGED = "identity.merged", "User merged into another"


class AuditEvent(models.Model):
    # Null only for failures that cannot be tied to any tenant (a key nobody issued).
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, null=True, related_name="+")
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    api_key = models.ForeignKey("keys.ApiKey", on_delete=models.SET_NULL, null=True, related_name="+")
    # Display prefix only (e.g. "sk_live_4f9a"): never a whole key.
    key_prefix = models.CharField(max_length=24, blank=True)
    client_ip = models.GenericIPAddressField(null=True)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.action}@{self.tenant_id}"
