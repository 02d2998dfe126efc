"""Settings → General: the workspace's name and slug, and (Owner only) deleting it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.accounts import services
from segops_server.console.access import page, tenant_page
from segops_server.console.errors import add_service_errors
from segops_server.console.forms import TenantDeleteForm, TenantForm
from segops_server.core.errors import Invalid


@tenant_page(rules.TENANT)
@require_http_methods(["GET"])
def settings_home(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    return redirect("console:settings-general", tenant_slug=ctx.tenant.slug)


@tenant_page(rules.TENANT_SETTINGS)
@require_http_methods(["GET", "POST"])
def general(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    tenant = ctx.tenant
    form = TenantForm(request.POST or None, initial={"name": tenant.name, "slug": tenant.slug})
    if request.method == "POST" and form.is_valid():
        try:
            assert ctx.membership is not None
            tenant = services.tenant_update(
                tenant=tenant, actor=ctx.membership.user, request=request, **form.cleaned_data
            )
        except Invalid as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Workspace saved.")
            # The slug may have changed: the URL follows it.
            return redirect("console:settings-general", tenant_slug=tenant.slug)
    return page(
        request,
        "console/settings/general.html",
        {"form": form, "delete_form": TenantDeleteForm(slug=tenant.slug), "section": "general"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )


@tenant_page(rules.TENANT_DELETION)
@require_POST
def tenant_delete(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    """Owner only, like DELETE /api/tenants/<slug>/; the slug must be typed to confirm."""
    form = TenantDeleteForm(request.POST, slug=ctx.tenant.slug)
    if not form.is_valid():
        return page(
            request,
            "console/settings/general.html",
            {
                "form": TenantForm(initial={"name": ctx.tenant.name, "slug": ctx.tenant.slug}),
                "delete_form": form,
                "section": "general",
            },
            ctx=ctx,
            status=400,
        )
    name = ctx.tenant.name
    assert ctx.membership is not None
    services.tenant_delete(tenant=ctx.tenant, actor=ctx.membership.user, request=request)
    messages.success(request, f"Workspace “{name}” deleted.")
    return redirect("console:entry")
