"""Which tenant a request acts on: the names it gives, and the caller's memberships or key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.db import models

from segops_server.accounts.models import ROLE_RANK, Membership, Role, Tenant, User
from segops_server.core.converters import MAX_ID_DIGITS
from segops_server.core.errors import Invalid, NotFound, PermissionDenied

if TYPE_CHECKING:
    from segops_server.access.policy import Machine


@dataclass(frozen=True)
class TenantContext:
    """The tenant a request acts on, and the right it acts with there."""

    tenant: Tenant
    role: Role | None  # None for a machine credential (API key): its rights are its scopes
    membership: Membership | None

    def has_role(self, minimum: Role) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[minimum]


@dataclass(frozen=True)
class TenantName:
    kind: Literal["slug", "id"]
    value: str


def tenant_names(
    *, url_slug: str | None = None, header: str | None = None, sources: Iterable[Mapping[str, Any]] = ()
) -> frozenset[TenantName]:
    """Every tenant a request names: the URL's slug, the X-SegOps-Tenant header, and `tenant_slug`
    / `tenant` (a numeric id) in each of `sources` (the query string, a JSON object body)."""
    names: set[TenantName] = set()
    if url_slug:
        names.add(TenantName("slug", url_slug))
    if header and header.strip():
        names.add(TenantName("slug", header.strip()))
    for source in sources:
        slug = source.get("tenant_slug")
        if isinstance(slug, str) and slug.strip():
            names.add(TenantName("slug", slug.strip()))
        tenant_id = source.get("tenant")
        if tenant_id not in (None, ""):
            text = str(tenant_id)
            if isinstance(tenant_id, bool) or not text.isdigit() or len(text) > MAX_ID_DIGITS:
                raise Invalid({"tenant": ["A numeric tenant id is expected."]})
            names.add(TenantName("id", str(int(text))))
    return frozenset(names)


def tenant_resolve(
    person: User | None,
    machine: Machine | None,
    *,
    names: frozenset[TenantName],
    object_tenant_id: int | None = None,
) -> TenantContext:
    """Fail closed: no tenant, an ambiguous one, or one the caller is not in never resolves.

    `object_tenant_id` is the tenant of the object a URL names (e.g. /api/auth/api-keys/5/): a
    person in several tenants who names none acts on that object's tenant, if they belong to it.
    """
    if machine is not None:
        bound = machine.bound_tenant
        # A machine credential acts on its own tenant only; naming another one is refused.
        for name in names:
            if name.value != (bound.slug if name.kind == "slug" else str(bound.pk)):
                raise PermissionDenied("This API key belongs to a different tenant.")
        return TenantContext(tenant=bound, role=None, membership=None)
    if person is None:
        raise PermissionDenied("Sign in to act on a tenant.")

    memberships = Membership.objects.for_user(person)
    slugs = {n.value for n in names if n.kind == "slug"}
    ids = {int(n.value) for n in names if n.kind == "id"}
    if names:
        if len(slugs) > 1 or len(ids) > 1:
            raise Invalid({"detail": "The request names more than one tenant."})
        # Either name may match: two of the caller's own tenants is a conflict, while a name
        # the caller is not in is a 404 (not 403): whether it exists is nobody else's business.
        named = models.Q(tenant__slug__in=slugs) | models.Q(tenant_id__in=ids)
        found = list(memberships.filter(named)[:2])
        if len(found) > 1:
            raise Invalid({"detail": "The request names more than one tenant."})
        if not found or not slugs <= {found[0].tenant.slug} or not ids <= {found[0].tenant_id}:
            raise NotFound("Tenant not found.")
    else:
        found = []
        if object_tenant_id is not None:
            found = list(memberships.filter(tenant_id=object_tenant_id)[:1])
        # Not the caller's object (or none): answer exactly as for an id that does not exist.
        found = found or list(memberships[:2])
        if len(found) != 1:
            raise Invalid(
                {
                    "detail": "Name the tenant with the X-SegOps-Tenant header"
                    " (or tenant_slug) - you belong to several."
                    if found
                    else "You do not belong to any tenant yet."
                }
            )
    membership = found[0]
    return TenantContext(tenant=membership.tenant, role=Role(membership.role), membership=membership)
