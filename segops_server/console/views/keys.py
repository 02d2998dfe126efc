"""Settings → API Keys: the list, + New Key, the trash icon (revoke) and Roll — Admin and Owner only.

A new key is rendered in the answer to the POST that created it and nowhere else: it is not
put in the session or a message for a later page, and that answer must not be cached, so after
a reload or on the list only the display prefix remains (the server keeps only a digest).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import is_htmx, page, tenant_page
from segops_server.console.errors import add_service_errors
from segops_server.console.forms import ApiKeyForm, RollForm
from segops_server.console.oneshot import form_token_issue, form_token_spend
from segops_server.core.errors import Invalid
from segops_server.keys import selectors, services
from segops_server.keys.models import ApiKey, KeyStatus

# The seed advises rotating every 90 days; the list starts reminding ten days before.
ROTATE_EVERY_DAYS = 90
REMIND_AFTER_DAYS = 80
ALREADY_SENT = (
    "That form was already sent, and the key it made was shown once. "
    "If you did not copy it, revoke it and create another."
)

admin_only = tenant_page(rules.KEYS)


def _rotation_due(key: ApiKey) -> bool:
    return key.status == KeyStatus.ACTIVE and timezone.now() - key.created_at >= timedelta(
        days=REMIND_AFTER_DAYS
    )


@admin_only
@require_http_methods(["GET"])
def key_list(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    keys = list(selectors.api_keys_of_tenant(tenant=ctx.tenant))
    rows = [{"key": key, "rotate": _rotation_due(key)} for key in keys]
    return page(
        request,
        "console/keys/list.html",
        {"rows": rows, "rotate_every_days": ROTATE_EVERY_DAYS, "section": "api-keys"},
        ctx=ctx,
    )


def _spent_form_redirect(request: HttpRequest, ctx: TenantContext) -> HttpResponse | None:
    """A reload or Back re-sending a create/roll form: answer with the list, act nothing twice."""
    if form_token_spend(request, request.POST.get("form_token")):
        return None
    messages.warning(request, ALREADY_SENT)
    return redirect("console:key-list", tenant_slug=ctx.tenant.slug)


def _issued_page(request: HttpRequest, ctx: TenantContext, **context: Any) -> HttpResponse:
    """The one page that shows a key (and a public key's HMAC secret): never stored, never again."""
    return page(request, "console/keys/issued.html", {**context, "section": "api-keys"}, ctx=ctx, status=201)


@admin_only
@never_cache
@require_http_methods(["GET", "POST"])
def key_new(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST":
        if (spent := _spent_form_redirect(request, ctx)) is not None:
            return spent
        if form.is_valid():
            assert ctx.membership is not None
            try:
                issued = services.api_key_create(
                    tenant=ctx.tenant, created_by=ctx.membership.user, request=request, **form.service_fields
                )
            except Invalid as exc:
                add_service_errors(form, exc, rename={"expires_at": "expires_on"})
            else:
                return _issued_page(request, ctx, issued=issued, verb="created")
    return page(
        request,
        "console/keys/new.html",
        {"form": form, "form_token": form_token_issue(request), "section": "api-keys"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )


@admin_only
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, ctx: TenantContext, key_id: int) -> HttpResponse:
    """The trash icon: GET asks for confirmation (a dialog with htmx), POST revokes at once."""
    key = selectors.api_key_get(tenant=ctx.tenant, key_id=key_id)
    if request.method == "POST":
        assert ctx.membership is not None
        services.api_key_revoke(api_key=key, actor=ctx.membership.user, request=request)
        messages.success(
            request, f"“{key.name}” ({key.display_prefix}…) is revoked: it gets 401 from now on."
        )
        return redirect("console:key-list", tenant_slug=ctx.tenant.slug)
    template = "console/keys/_revoke_dialog.html" if is_htmx(request) else "console/keys/revoke.html"
    return page(request, template, {"key": key, "section": "api-keys"}, ctx=ctx)


@admin_only
@never_cache
@require_http_methods(["GET", "POST"])
def key_roll(request: HttpRequest, ctx: TenantContext, key_id: int) -> HttpResponse:
    """A new key with the same settings; the old one keeps working for the chosen grace period."""
    key = selectors.api_key_get(tenant=ctx.tenant, key_id=key_id)
    form = RollForm(request.POST or None)
    if request.method == "POST":
        if (spent := _spent_form_redirect(request, ctx)) is not None:
            return spent
        if form.is_valid():
            assert ctx.membership is not None
            try:
                issued = services.api_key_roll(
                    api_key=key,
                    actor=ctx.membership.user,
                    grace=timedelta(hours=form.cleaned_data["grace_period_hours"]),
                    request=request,
                )
            except Invalid as exc:
                add_service_errors(form, exc)
            else:
                return _issued_page(request, ctx, issued=issued, verb="rolled", old_key=key)
    template = "console/keys/_roll_dialog.html" if is_htmx(request) else "console/keys/roll.html"
    return page(
        request,
        template,
        {"key": key, "form": form, "form_token": form_token_issue(request), "section": "api-keys"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )
