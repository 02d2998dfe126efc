"""The API's adapter of the access policy (access/policy.py): DRF permission and throttle classes.

Every API view declares `policy`; `PolicyPermission` (the default permission class) builds the
caller from DRF's authentication, applies `decide` and keeps the tenant context on the view;
`PlanQuotaThrottle` (the default throttle class) counts the call against the policy's quota. The
domain errors they raise are answered by the one exception handler (core/errors.py). This module
must not import rest_framework.views: DRF imports it while loading that module's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from segops_server.access.policy import Caller, Machine, Policy, decide
from segops_server.access.quota import call_admit
from segops_server.access.tenants import TenantContext, TenantName, tenant_names, tenant_resolve
from segops_server.accounts.models import User
from segops_server.core.errors import PermissionDenied

if TYPE_CHECKING:
    from rest_framework.views import APIView

TENANT_HEADER = "HTTP_X_SEGOPS_TENANT"


def person(request: Request) -> User:
    """The signed-in person behind a request (for views whose policy takes only people)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in as a person to use this endpoint.")
    return user


def caller_of(request: Request) -> Caller:
    """Who DRF's authentication found: a machine credential (request.auth), a person, or nobody."""
    auth: Any = request.auth  # an API key, a public-key session, a person's access token or None
    if hasattr(auth, "credential") and hasattr(auth, "bound_tenant"):
        machine: Machine = auth
        return Caller(machine=machine)
    return Caller(person=request.user if isinstance(request.user, User) else None)


def _names(request: Request, url_slug: str | None) -> frozenset[TenantName]:
    sources: list[Any] = [request.query_params]
    if isinstance(request.data, dict):
        sources.append(request.data)
    return tenant_names(url_slug=url_slug, header=request.META.get(TENANT_HEADER), sources=sources)


def resolve_tenant(request: Request) -> TenantContext:
    """The tenant a request acts on, by the policy's tenant rule (for views that report it)."""
    caller = caller_of(request)
    return tenant_resolve(caller.person, caller.machine, names=_names(request, None))


def policy_of(view: APIView) -> Policy:
    policy = getattr(view, "policy", None)
    if not isinstance(policy, Policy):
        raise ImproperlyConfigured(f"{type(view).__qualname__} declares no access policy (`policy`).")
    return policy


class PolicyPermission(BasePermission):
    """The view's policy, applied by `decide`; a tenant policy's context is kept on the view."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        policy = policy_of(view)
        method = request.method or "GET"
        if method.lower() not in view.http_method_names or not hasattr(view, method.lower()):
            return True  # DRF answers 405 once permissions pass: no tenant is looked up for it
        caller = caller_of(request)
        if caller.credential is None and not policy.anyone:
            return False  # DRF's 401 with the authenticator's challenge
        kwargs = view.kwargs
        object_tenant = getattr(view, "object_tenant_id", None)
        ctx = decide(
            policy,
            method=method,
            caller=caller,
            names=_names(request, kwargs.get("tenant_slug")) if policy.tenant else frozenset(),
            object_tenant_id=object_tenant(**kwargs) if policy.tenant and object_tenant else None,
        )
        if ctx is not None:
            view.tenant_context = ctx  # type: ignore[attr-defined]
        return True


class PlanQuotaThrottle(BaseThrottle):
    """The policy's plan quota, counted once the call's right is known (QuotaExceeded: 429)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        ctx: TenantContext | None = getattr(view, "tenant_context", None)
        if ctx is not None:
            call_admit(policy_of(view), ctx.tenant)
        return True


def policies_check() -> None:
    """ImproperlyConfigured unless every API view the URLconf serves declares its policy (the server
    refuses to start): a view without one would answer every request with a 500."""
    from rest_framework.views import APIView

    from segops_server.core.urlconf import url_entries

    missing = sorted(
        {
            entry.view_class.__qualname__
            for entry in url_entries()
            if isinstance(entry.view_class, type)
            and issubclass(entry.view_class, APIView)
            and PolicyPermission in entry.view_class.permission_classes
            and not isinstance(getattr(entry.view_class, "policy", None), Policy)
        }
    )
    if missing:
        raise ImproperlyConfigured(f"API views without an access policy (`policy`): {', '.join(missing)}.")
