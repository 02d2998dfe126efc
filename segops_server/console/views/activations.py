"""A segment's Activations card: its connectors, add a webhook one, Activate / Pause, Sync Now.

The API's rule (rules.ACTIVATIONS): Viewers see the card, Members and up change it. The secret of
a connector is typed once and never shown again (the API reads it back as "***").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.activations import selectors, services
from segops_server.activations.models import Activation, ActivationStatus, ConnectorType
from segops_server.console.access import is_htmx, page, signed_in_person, tenant_page
from segops_server.console.errors import add_service_errors
from segops_server.core.errors import DomainError, NotFound
from segops_server.segments.definitions import selectors as segments
from segops_server.segments.models import Segment

CARD = "console/segments/_activations.html"


class WebhookConnectorForm(forms.Form):
    url = forms.CharField(
        label="Receiver URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/segops"}),
        help_text="https only; it must resolve to public internet addresses.",
    )
    secret = forms.CharField(
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Each batch is signed with it. It is not shown again.",
    )


def activations_card(
    ctx: TenantContext, segment: Segment, *, form: WebhookConnectorForm | None = None
) -> dict[str, Any]:
    """What the Activations card shows, wherever it is drawn."""
    activations = list(selectors.activations_of_tenant(tenant=ctx.tenant, segment_id=segment.pk))
    last = selectors.last_syncs(tenant=ctx.tenant, activations=activations)
    return {
        "activations": [{"activation": a, "last_sync": last.get(a.pk)} for a in activations],
        "activations_editable": rules.ACTIVATIONS.permits(ctx, "POST"),
        "activation_form": form or WebhookConnectorForm(),
    }


def _card(
    request: HttpRequest,
    ctx: TenantContext,
    segment: Segment,
    *,
    form: WebhookConnectorForm | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    if not is_htmx(request):  # without htmx: back to the segment's page, the outcome as a message
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect("console:segment-detail", tenant_slug=ctx.tenant.slug, segment_id=segment.pk)
    context = {
        "segment": segment,
        "activation_error": error,
        "activation_notice": notice,
        **activations_card(ctx, segment, form=form),
    }
    return page(request, CARD, context, ctx=ctx, status=status)


def _activation(ctx: TenantContext, segment: Segment, activation_id: int) -> Activation:
    activation = selectors.activation_get(tenant=ctx.tenant, activation_id=activation_id)
    if activation.segment_id != segment.pk:
        raise NotFound("Activation not found.")
    return activation


@tenant_page(rules.ACTIVATIONS)
@never_cache
@require_http_methods(["GET", "POST"])
def segment_activations(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    """GET: the card. POST (Member and up): add a webhook connector, inactive until activated."""
    segment = segments.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    if request.method == "GET":
        return _card(request, ctx, segment)
    form = WebhookConnectorForm(request.POST)
    if form.is_valid():
        try:
            services.activation_create(
                tenant=ctx.tenant,
                segment_id=segment.pk,
                connector_type=ConnectorType.WEBHOOK,
                config=form.cleaned_data,
                actor=signed_in_person(request),
                request=request,
            )
        except DomainError as exc:
            add_service_errors(form, exc, rename={"config": "url"})
        else:
            return _card(
                request, ctx, segment, notice="Webhook connector added. Activate it to start syncing."
            )
    if not is_htmx(request):
        words = " ".join(str(message) for errors in form.errors.values() for message in errors)
        return _card(request, ctx, segment, error=words)
    return _card(request, ctx, segment, form=form, status=400)


@tenant_page(rules.ACTIVATIONS)
@require_POST
def activation_status(
    request: HttpRequest, ctx: TenantContext, segment_id: int, activation_id: int
) -> HttpResponse:
    """Activate (every member is sent at once if the segment is computed) or Pause."""
    segment = segments.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    activation = _activation(ctx, segment, activation_id)
    wanted = request.POST.get("status", "")
    if wanted not in (ActivationStatus.ACTIVE, ActivationStatus.INACTIVE):
        return _card(request, ctx, segment, error="Choose Activate or Pause.", status=400)
    services.activation_update(
        activation=activation, status=wanted, actor=signed_in_person(request), request=request
    )
    if wanted == ActivationStatus.ACTIVE:
        notice = "Activated: every member is being sent." if segment.generation else "Activated."
    else:
        notice = "Paused: computes no longer sync it."
    return _card(request, ctx, segment, notice=notice)


@tenant_page(rules.ACTIVATIONS)
@require_POST
def activation_sync(
    request: HttpRequest, ctx: TenantContext, segment_id: int, activation_id: int
) -> HttpResponse:
    """Sync Now: every member of the current set, as the API's POST …/sync/."""
    segment = segments.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    activation = _activation(ctx, segment, activation_id)
    try:
        sync = services.activation_sync_now(activation=activation)
    except DomainError as exc:  # paused, or the segment never computed
        return _card(request, ctx, segment, error=str(exc), status=exc.http_status)
    if sync.queued_at is None:  # the worker reads the members and queues the batches
        notice = "Sync queued: every member is being sent."
    else:
        notice = f"Sync queued: {sync.entered} members in {sync.batches} batches."
    return _card(request, ctx, segment, notice=notice)


@tenant_page(rules.ACTIVATIONS)
@require_POST
def activation_delete(
    request: HttpRequest, ctx: TenantContext, segment_id: int, activation_id: int
) -> HttpResponse:
    segment = segments.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    activation = _activation(ctx, segment, activation_id)
    services.activation_delete(activation=activation, actor=signed_in_person(request), request=request)
    return _card(request, ctx, segment, notice="Activation deleted.")
