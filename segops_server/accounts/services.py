"""Writes for people, tenants and teams; each a keyword-only function in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from segops_server.accounts.models import INVITABLE_ROLES, Invitation, Membership, Role, Tenant, User
from segops_server.accounts.tokens import tokens_revoke_all
from segops_server.core.errors import Conflict


@dataclass(frozen=True)
class Registration:
    user: User
    tenant: Tenant | None


def _tenant_slug_free(slug: str, field: str) -> None:
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({field: ["This slug is already taken."]})


@transaction.atomic
def user_register(
    *, email: str, password: str, tenant_name: str | None, tenant_slug: str | None
) -> Registration:
    """Sign-up: the new person owns the new tenant and joins every tenant that invited them."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["An account with this email already exists."]})
    user = User.objects.create_user(email=email, password=password)
    invitations = list(Invitation.objects.unscoped_all_tenants().filter(email__iexact=email))
    for invitation in invitations:
        Membership(tenant_id=invitation.tenant_id, user=user, role=invitation.role).save()
    Invitation.objects.unscoped_all_tenants().filter(pk__in=[i.pk for i in invitations]).delete()
    tenant = None
    if tenant_slug:
        tenant = tenant_create(
            owner=user, name=tenant_name or tenant_slug, slug=tenant_slug, field="tenant_slug"
        )
    elif invitations:
        tenant = Tenant.objects.get(pk=invitations[0].tenant_id)
    return Registration(user=user, tenant=tenant)


@transaction.atomic
def tenant_create(*, owner: User, name: str, slug: str, field: str = "slug") -> Tenant:
    _tenant_slug_free(slug, field)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug)
    except IntegrityError:  # lost a race for the same slug
        raise ValidationError({field: ["This slug is already taken."]}) from None
    Membership(tenant=tenant, user=owner, role=Role.OWNER).save()
    return tenant


@transaction.atomic
def tenant_update(*, tenant: Tenant, name: str | None = None, slug: str | None = None) -> Tenant:
    if slug is not None and slug != tenant.slug:
        _tenant_slug_free(slug, "slug")
        tenant.slug = slug
    if name is not None:
        tenant.name = name
    tenant.save()
    return tenant


@dataclass(frozen=True)
class InviteResult:
    membership: Membership | None
    invitation: Invitation | None


@transaction.atomic
def member_invite(*, tenant: Tenant, email: str, role: str, invited_by: User) -> InviteResult:
    """An existing account joins at once; an unknown email gets a pending invitation."""
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": ["Invitations may grant admin, member or viewer."]})
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is not None:
        if Membership.objects.for_tenant(tenant).filter(user=user).exists():
            raise Conflict("This person is already a member of the tenant.")
        membership = Membership(tenant=tenant, user=user, role=role)
        membership.save()
        return InviteResult(membership=membership, invitation=None)
    if Invitation.objects.for_tenant(tenant).filter(email__iexact=email).exists():
        raise Conflict("This email already has a pending invitation.")
    invitation = Invitation(tenant=tenant, email=email, role=role, invited_by=invited_by)
    invitation.save()
    return InviteResult(membership=None, invitation=invitation)


def _guard_owner(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        raise PermissionDenied("The Owner can be neither removed nor demoted.")


@transaction.atomic
def member_change_role(*, membership: Membership, role: str) -> Membership:
    _guard_owner(membership)
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": ["Role must be admin, member or viewer."]})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Access ends at once: every request re-reads the membership."""
    _guard_owner(membership)
    membership.delete()


@transaction.atomic
def invitation_cancel(*, invitation: Invitation) -> None:
    invitation.delete()


@transaction.atomic
def user_change_password(*, user: User, new_password: str) -> None:
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user, reason="password_changed")
