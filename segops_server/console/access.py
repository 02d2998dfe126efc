"""The console's adapter of the access policy (access/policy.py): sign-in, the tenant the URL
names and the role, decided by the same `decide` as the API's, answered as console pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from segops_server.access import rules
from segops_server.access.policy import Caller, Policy, decide
from segops_server.access.tenants import TenantContext, TenantName, tenant_resolve
from segops_server.accounts.models import User
from segops_server.accounts.selectors import memberships_of_user
from segops_server.console.errors import error_page
from segops_server.core.errors import DomainError
from segops_server.core.errors import NotFound as DomainNotFound
from segops_server.core.errors import PermissionDenied as DomainPermissionDenied
from segops_server.observability.context import tenant_note

P = ParamSpec("P")
TenantView = Callable[Concatenate[HttpRequest, TenantContext, P], HttpResponseBase]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def signed_in_person(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated and user.is_active else None


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    ctx: TenantContext | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a console page with what the layout needs: the tenant, the role and the switcher."""
    person = signed_in_person(request)
    full: dict[str, Any] = {
        "person": person,
        # Lazy: read only by the full layout's switcher, not by htmx fragments (the 1 s status poll).
        "memberships": memberships_of_user(user=person) if person else [],
        "ctx": ctx,
        "tenant": ctx.tenant if ctx else None,
    }
    if ctx is not None:
        # The controls a page shows, by the same rules that decide the calls they lead to.
        full["can"] = {
            "write_segments": rules.SEGMENTS.permits(ctx, "POST"),
            "change_settings": rules.TENANT_SETTINGS.permits(ctx, "POST"),
            "delete_tenant": rules.TENANT_DELETION.permits(ctx, "POST"),
            "change_team": rules.TEAM.permits(ctx, "POST"),
            "see_keys": rules.KEYS.permits(ctx, "GET"),
            "see_audit": rules.AUDIT.permits(ctx, "GET"),
            "manage_webhooks": rules.WEBHOOKS.permits(ctx, "GET"),
            "use_sandbox": rules.SANDBOX.permits(ctx, "POST"),
            "merge_users": rules.IDENTITY.permits(ctx, "POST"),
        }
    full.update(context or {})
    return render(request, template, full, status=status)


def too_many(request: HttpRequest, template: str, context: dict[str, Any], wait: int) -> HttpResponse:
    """The form again with a 429 and Retry-After: the address sent this too often (the API's rule)."""
    form = context.get("form")
    if form is not None:
        form.is_valid()  # bound forms list their errors; the rate message goes on top
        form.add_error(None, f"Too many requests from this address; try again in {wait} seconds.")
    response = page(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


def refused(request: HttpRequest, ctx: TenantContext | None, message: str) -> HttpResponse:
    return page(request, "console/errors/403.html", {"message": message}, ctx=ctx, status=403)


def not_found(request: HttpRequest, ctx: TenantContext | None = None) -> HttpResponse:
    return page(request, "console/errors/404.html", ctx=ctx, status=404)


def tenant_page(policy: Policy = rules.TENANT) -> Callable[[TenantView[P]], Callable[..., HttpResponseBase]]:
    """For every view under /t/<slug>/: the capability's policy (access/rules.py, the API's own),
    applied by `decide` to the signed-in person and the tenant the URL names. A tenant the person
    is not in is a 404, never a 403, so an outsider cannot tell a real tenant from a made-up one;
    no "current tenant" is remembered in the session. A role too low is a 403, and the templates
    hide the controls that would lead there.
    """

    def decorator(view: TenantView[P]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(
            request: HttpRequest, tenant_slug: str, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponseBase:
            person = signed_in_person(request)
            if person is None:
                return redirect_to_login(request.get_full_path(), reverse("console:sign-in"))
            names = frozenset({TenantName("slug", tenant_slug)})
            caller = Caller(person=person)
            try:
                ctx = decide(policy, method=request.method or "GET", caller=caller, names=names)
            except DomainNotFound:
                return not_found(request)
            except DomainPermissionDenied as exc:  # the role is too low: said on the tenant's own page
                return refused(request, tenant_resolve(person, None, names=names), str(exc))
            assert ctx is not None  # a tenant policy always answers with its tenant
            tenant_note(ctx.tenant.pk)  # for the request's log lines
            try:
                return view(request, ctx, *args, **kwargs)
            except Http404:
                return not_found(request, ctx)
            except PermissionDenied as exc:
                return refused(request, ctx, str(exc) or "You may not do this.")
            except DomainError as exc:  # what the view did not handle itself: one mapping
                return error_page(request, ctx, exc)

        return wrapped

    return decorator


def person_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages outside any tenant that still need someone signed in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        person = signed_in_person(request)
        if person is None:
            return redirect_to_login(request.get_full_path(), reverse("console:sign-in"))
        try:
            return view(request, person, *args, **kwargs)
        except DomainError as exc:  # what the view did not handle itself: the same one mapping
            return error_page(request, None, exc)

    return wrapped


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
