"""The tenant choke point for requests: which tenant a call acts on, and with what role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models
from rest_framework import generics
from rest_framework.exceptions import MethodNotAllowed, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from segops_server.accounts.models import ROLE_RANK, Membership, Role, Tenant, User
from segops_server.accounts.plans import PLANS, PlanName
from segops_server.core.converters import MAX_ID_DIGITS
from segops_server.core.idempotency import idempotency_key, idempotency_replay, idempotency_store
from segops_server.core.quotas import QuotaExceeded, per_minute_take, per_month_take
from segops_server.core.scoping import tenant_manager
from segops_server.observability.context import tenant_note

TENANT_HEADER = "HTTP_X_SEGOPS_TENANT"


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    role: Role | None  # None for a machine credential (API key): its rights are its scopes
    membership: Membership | None

    def has_role(self, minimum: Role) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[minimum]


def person(request: Request) -> User:
    """The signed-in person behind a request (views that allow only people call this)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in as a person to use this endpoint.")
    return user


def _named_tenants(request: Request, url_slug: str | None) -> set[str]:
    """Every tenant the request names, as ("slug:x" | "id:n") markers."""
    names: set[str] = set()
    if url_slug:
        names.add(f"slug:{url_slug}")
    header = request.META.get(TENANT_HEADER, "").strip()
    if header:
        names.add(f"slug:{header}")
    sources: list[Any] = [request.query_params]
    if isinstance(request.data, dict):
        sources.append(request.data)
    for source in sources:
        slug = source.get("tenant_slug")
        if isinstance(slug, str) and slug.strip():
            names.add(f"slug:{slug.strip()}")
        tenant_id = source.get("tenant")
        if tenant_id not in (None, ""):
            if (
                isinstance(tenant_id, bool)
                or not str(tenant_id).isdigit()
                or len(str(tenant_id)) > MAX_ID_DIGITS
            ):
                raise ValidationError({"tenant": ["A numeric tenant id is expected."]})
            names.add(f"id:{int(tenant_id)}")
    return names


def resolve_tenant(
    request: Request, *, url_slug: str | None = None, object_tenant_id: int | None = None
) -> TenantContext:
    """Fail closed: no tenant, an ambiguous one, or one the caller is not in never resolves.

    `object_tenant_id` is the tenant of the object a URL names (e.g. /api/auth/api-keys/5/): a
    person in several tenants who names none acts on that object's tenant, if they belong to it.
    """
    names = _named_tenants(request, url_slug)
    bound = getattr(request.auth, "bound_tenant", None)
    if bound is not None:
        # A machine credential acts on its own tenant only; naming another one is refused.
        for name in names:
            kind, _, value = name.partition(":")
            if (kind == "slug" and value != bound.slug) or (kind == "id" and value != str(bound.pk)):
                raise PermissionDenied("This API key belongs to a different tenant.")
        return TenantContext(tenant=bound, role=None, membership=None)

    memberships = Membership.objects.for_user(person(request))
    slugs = {n.split(":", 1)[1] for n in names if n.startswith("slug:")}
    ids = {int(n.split(":", 1)[1]) for n in names if n.startswith("id:")}
    if names:
        if len(slugs) > 1 or len(ids) > 1:
            raise ValidationError({"detail": "The request names more than one tenant."})
        # Either name may match: two of the caller's own tenants is a conflict, while a name
        # the caller is not in is a 404 (not 403): whether it exists is nobody else's business.
        named = models.Q(tenant__slug__in=slugs) | models.Q(tenant_id__in=ids)
        found = list(memberships.filter(named)[:2])
        if len(found) > 1:
            raise ValidationError({"detail": "The request names more than one tenant."})
        if not found or not slugs <= {found[0].tenant.slug} or not ids <= {found[0].tenant_id}:
            raise NotFound("Tenant not found.")
    else:
        found = []
        if object_tenant_id is not None:
            found = list(memberships.filter(tenant_id=object_tenant_id)[:1])
        # Not the caller's object (or none): answer exactly as for an id that does not exist.
        found = found or list(memberships[:2])
        if len(found) != 1:
            raise ValidationError(
                {
                    "detail": "Name the tenant with the X-SegOps-Tenant header"
                    " (or tenant_slug) - you belong to several."
                    if found
                    else "You do not belong to any tenant yet."
                }
            )
    membership = found[0]
    return TenantContext(tenant=membership.tenant, role=Role(membership.role), membership=membership)


def plan_calls_check(tenant: Tenant) -> None:
    limit = PLANS[PlanName(tenant.plan)].calls_per_minute
    if limit is None:
        return
    wait = per_minute_take(name=f"calls:{tenant.pk}", amount=1, limit=limit)
    if wait is not None:
        raise QuotaExceeded(
            quota="calls_per_minute",
            wait=wait,
            detail=f"The {tenant.plan} plan allows {limit} API calls a minute.",
        )


def plan_events_check(tenant: Tenant, count: int) -> None:
    limit = PLANS[PlanName(tenant.plan)].events_per_month
    if limit is None or count == 0:
        return
    wait = per_month_take(name=f"events:{tenant.pk}", amount=count, limit=limit)
    if wait is not None:
        raise QuotaExceeded(
            quota="events_per_month",
            wait=wait,
            detail=f"The {tenant.plan} plan allows {limit} events a month.",
        )


class TenantScopedMixin:
    """Resolves the tenant after authentication and checks the right the method needs.

    People: safe methods need Viewer and writes need Member unless `required_roles` says
    otherwise. Machine credentials (API keys, sessions) may call a method only if
    `required_scopes` names a scope for it, and only when the credential carries that scope.
    """

    required_roles: ClassVar[dict[str, Role]] = {}
    required_scopes: ClassVar[dict[str, str]] = {}
    # Ingestion counts events against the monthly quota instead of calls against the minute one.
    counts_as_api_call: ClassVar[bool] = True
    tenant_context: TenantContext
    idempotency_key: str | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        method_name = (request.method or "").lower()
        if method_name not in self.http_method_names or not hasattr(self, method_name):  # type: ignore[attr-defined]
            raise MethodNotAllowed(request.method or "")
        ctx = resolve_tenant(
            request, url_slug=kwargs.get("tenant_slug"), object_tenant_id=self.object_tenant_id(**kwargs)
        )
        method = request.method or "GET"
        if ctx.role is None:
            scope = self.required_scopes.get(method)
            if scope is None:
                raise PermissionDenied("API keys cannot use this endpoint; sign in as a person.")
            if not request.auth.has_scope(scope):  # type: ignore[union-attr]
                raise PermissionDenied(f"This API key lacks the '{scope}' scope.")
        else:
            needed = self.required_roles.get(
                method, Role.VIEWER if method in ("GET", "HEAD", "OPTIONS") else Role.MEMBER
            )
            if not ctx.has_role(needed):
                raise PermissionDenied(f"This action needs the {needed.label} role or higher.")
        if self.counts_as_api_call:
            plan_calls_check(ctx.tenant)
        self.tenant_context = ctx
        tenant_note(ctx.tenant.pk)  # for the request's log lines
        self.idempotency_key = idempotency_key(request)
        if self.idempotency_key:
            idempotency_replay(request, tenant_id=ctx.tenant.pk, key=self.idempotency_key)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        key = getattr(self, "idempotency_key", None)
        if key and hasattr(self, "tenant_context"):
            idempotency_store(request, response, tenant_id=self.tenant.pk, key=key)
        return response

    def object_tenant_id(self, **kwargs: Any) -> int | None:
        """Views whose URL names one object may say which tenant owns it (see resolve_tenant)."""
        return None

    @property
    def tenant(self) -> Tenant:
        return self.tenant_context.tenant


class TenantScopedAPIView(TenantScopedMixin, APIView):
    pass


class TenantScopedGenericView(TenantScopedMixin, generics.GenericAPIView[models.Model]):
    """Querysets come from `model.objects.for_tenant(...)`: another tenant's object is a 404."""

    model: ClassVar[type[models.Model]]

    def get_queryset(self) -> models.QuerySet[Any]:
        return tenant_manager(self.model).for_tenant(self.tenant)
