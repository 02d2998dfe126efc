"""Settings → Webhooks: the list, + Add Webhook (its secret shown once), a webhook's deliveries
with Redeliver, Send test, Pause/Resume and Delete — Member and up, as the API (rules.WEBHOOKS).

A generated secret is rendered in the answer to the POST that created the webhook and nowhere
else, as a new API key is (console/views/keys.py): not kept in the session, never cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import is_htmx, page, tenant_page
from segops_server.console.errors import add_service_errors
from segops_server.console.forms import WebhookForm
from segops_server.console.oneshot import form_token_issue, form_token_spend
from segops_server.core.errors import Conflict, Invalid
from segops_server.segments.definitions.selectors import segments_of_tenant
from segops_server.webhooks import selectors, services
from segops_server.webhooks.models import DeliveryStatus, Webhook

members_only = tenant_page(rules.WEBHOOKS)
DELIVERIES_PER_PAGE = 25
ALREADY_SENT = (
    "That form was already sent, and the webhook it made was added with its secret shown once. "
    "If you did not copy the secret, delete the webhook and add it again."
)


def webhook_state(webhook: Webhook) -> str:
    """active, paused (by a person) or disabled (by SegOps, after 24 hours of failures)."""
    if webhook.is_active:
        return "active"
    return "disabled" if webhook.disabled_reason else "paused"


def _caller(request: HttpRequest, ctx: TenantContext) -> services.Caller:
    assert ctx.membership is not None
    return services.Caller(actor=ctx.membership.user, request=request)


def _back_to_list(ctx: TenantContext) -> HttpResponse:
    return redirect("console:webhook-list", tenant_slug=ctx.tenant.slug)


def _back_to_deliveries(ctx: TenantContext, webhook: Webhook) -> HttpResponse:
    return redirect("console:webhook-deliveries", tenant_slug=ctx.tenant.slug, webhook_id=webhook.pk)


@members_only
@require_http_methods(["GET"])
def webhook_list(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    rows = [
        {"webhook": w, "state": webhook_state(w)} for w in selectors.webhooks_of_tenant(tenant=ctx.tenant)
    ]
    return page(
        request,
        "console/webhooks/list.html",
        {"rows": rows, "limit": services.MAX_WEBHOOKS_PER_TENANT, "section": "webhooks"},
        ctx=ctx,
    )


@members_only
@never_cache
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    segments = list(segments_of_tenant(tenant=ctx.tenant).values_list("pk", "name"))
    form = WebhookForm(request.POST or None, segments=segments)
    if request.method == "POST":
        if not form_token_spend(request, request.POST.get("form_token")):
            # A reload or Back re-sending the form: nothing is created twice.
            messages.warning(request, ALREADY_SENT)
            return _back_to_list(ctx)
        if form.is_valid():
            try:
                created = services.webhook_create(
                    tenant=ctx.tenant, caller=_caller(request, ctx), **form.service_fields
                )
            except Invalid as exc:
                add_service_errors(form, exc)
            else:
                context = {"created": created, "section": "webhooks"}
                return page(request, "console/webhooks/created.html", context, ctx=ctx, status=201)
    return page(
        request,
        "console/webhooks/new.html",
        {"form": form, "form_token": form_token_issue(request), "section": "webhooks"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )


@members_only
@require_http_methods(["GET"])
def webhook_deliveries(request: HttpRequest, ctx: TenantContext, webhook_id: int) -> HttpResponse:
    webhook = selectors.webhook_get(tenant=ctx.tenant, webhook_id=webhook_id)
    wanted = request.GET.get("status", "")
    status = wanted if wanted in DeliveryStatus.values else None
    deliveries = Paginator(
        selectors.deliveries_of_webhook(webhook=webhook, status=status), DELIVERIES_PER_PAGE
    )
    return page(
        request,
        "console/webhooks/deliveries.html",
        {
            "webhook": webhook,
            "state": webhook_state(webhook),
            "deliveries": deliveries.get_page(request.GET.get("page")),
            "status": status or "",
            "statuses": DeliveryStatus.choices,
            "section": "webhooks",
        },
        ctx=ctx,
    )


@members_only
@require_POST
def webhook_test(request: HttpRequest, ctx: TenantContext, webhook_id: int) -> HttpResponse:
    webhook = selectors.webhook_get(tenant=ctx.tenant, webhook_id=webhook_id)
    services.webhook_ping(webhook=webhook)
    messages.success(request, "A test ping is queued: it is sent within seconds and shows below.")
    return _back_to_deliveries(ctx, webhook)


@members_only
@require_POST
def webhook_active(request: HttpRequest, ctx: TenantContext, webhook_id: int) -> HttpResponse:
    """Pause or Resume: `is_active` is "true" or "false" (resuming also clears a disabled state)."""
    webhook = selectors.webhook_get(tenant=ctx.tenant, webhook_id=webhook_id)
    active = request.POST.get("is_active")
    if active not in ("true", "false"):
        messages.error(request, "Choose to pause or to resume the webhook.")
        return _back_to_deliveries(ctx, webhook)
    services.webhook_update(webhook=webhook, caller=_caller(request, ctx), is_active=active == "true")
    messages.success(
        request, "Webhook resumed." if active == "true" else "Webhook paused: nothing is sent to it."
    )
    return _back_to_deliveries(ctx, webhook)


@members_only
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, ctx: TenantContext, webhook_id: int) -> HttpResponse:
    """GET asks for confirmation (a dialog with htmx), POST deletes at once."""
    webhook = selectors.webhook_get(tenant=ctx.tenant, webhook_id=webhook_id)
    if request.method == "POST":
        services.webhook_delete(webhook=webhook, caller=_caller(request, ctx))
        messages.success(request, f"The webhook to {webhook.url} is deleted, with its deliveries.")
        return _back_to_list(ctx)
    template = "console/webhooks/_delete_dialog.html" if is_htmx(request) else "console/webhooks/delete.html"
    return page(request, template, {"webhook": webhook, "section": "webhooks"}, ctx=ctx)


@members_only
@require_POST
def webhook_redeliver(
    request: HttpRequest, ctx: TenantContext, webhook_id: int, delivery_id: int
) -> HttpResponse:
    webhook = selectors.webhook_get(tenant=ctx.tenant, webhook_id=webhook_id)
    delivery = selectors.delivery_get(webhook=webhook, delivery_id=delivery_id)
    try:
        services.delivery_redeliver(delivery=delivery)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Delivery {delivery.pk} is queued again.")
    return _back_to_deliveries(ctx, webhook)
