"""People, tenants, memberships, invitations and the bookkeeping of refresh-token families."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from segops_server.accounts.plans import PlanName
from segops_server.core.scoping import TenantScopedManager


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# Higher rank includes every right of the lower ones.
ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3, Role.OWNER: 4}
INVITABLE_ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    # Stored lower-cased; the functional constraint below also guards writes that bypass that.
    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped on password change or account removal: every token minted before carries the old
    # number and is refused, with no list of tokens to keep.
    token_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$",
    "Use 3-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit.",
)


def default_plan() -> str:
    return str(settings.SEGOPS_DEFAULT_PLAN)


class Tenant(models.Model):
    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=40, unique=True, validators=[slug_validator])
    plan = models.CharField(max_length=20, choices=PlanName.choices, default=default_plan)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


class MembershipManager(TenantScopedManager["Membership"]):
    def for_user(self, user: Any) -> models.QuerySet[Membership]:
        """One person's memberships across tenants: the person, not a tenant, is the scope."""
        return self.unscoped_all_tenants().filter(user=user).select_related("tenant")


class Membership(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique"),
            # Exactly one Owner per tenant, enforced by the database itself.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(role="owner"), name="one_owner_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.tenant_id}:{self.role}"


def unusable_token_hash() -> str:
    """A hash no token is known to match: what an invitation holds until a token is issued."""
    return secrets.token_hex(32)


def invitation_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.SEGOPS_INVITATION_DAYS)


class Invitation(models.Model):
    """An offer to join a tenant, taken only with its token by the person signed in as `email`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=Role.choices)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # SHA-256 of the single-use token sent to the invitee; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False, default=unusable_token_hash)
    expires_at = models.DateTimeField(default=invitation_expiry)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="invitation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.email}@{self.tenant_id}"

    @property
    def status(self) -> str:
        return "invited" if self.expires_at > timezone.now() else "expired"


class TokenFamily(models.Model):
    """All refresh tokens descended from one login; revoking the family ends that session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return str(self.pk)


class UsedRefreshToken(models.Model):
    """A refresh token that was already exchanged; seeing it again outside the grace window is theft."""

    jti = models.CharField(max_length=64, primary_key=True)
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="used_tokens")
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.jti
