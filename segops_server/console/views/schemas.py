"""Schemas: the workspace's event schemas (list, one schema, create from inferred samples, change
enforcement, delete). The API's serializers check the input and the schemas app's services write;
Viewers read, Members and up change (the API's SCHEMAS policy)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import page, tenant_page
from segops_server.core.errors import Invalid
from segops_server.schemas import selectors, services
from segops_server.schemas.inference import schemas_infer
from segops_server.schemas.models import Enforcement, PropertyType
from segops_server.schemas.serializers import EventSchemaSerializer, InferInSerializer

SAMPLE_LIMIT = 200_000  # characters of pasted samples
SAMPLE_HINT = '[{"event_type": "order_placed", "payload": {"amount": 30, "currency": "EUR"}}]'


class SamplesForm(forms.Form):
    samples = forms.CharField(
        max_length=SAMPLE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "placeholder": SAMPLE_HINT}),
        help_text="A JSON list of events, {event_type, payload} each (other fields are ignored).",
    )


class EnforcementForm(forms.Form):
    enforcement = forms.ChoiceField(choices=Enforcement.choices)


def _may_change(ctx: TenantContext) -> bool:
    return rules.SCHEMAS.permits(ctx, "POST")


def _changes_only(ctx: TenantContext) -> None:
    """Pages that only lead to a change are a Member's, as the change is."""
    if not _may_change(ctx):
        raise PermissionDenied("Viewers read schemas; a Member or above creates and changes them.")


def _errors(detail: Any) -> list[str]:
    """A serializer's errors as sentences, "field: message"."""
    if isinstance(detail, dict):
        return [f"{field}: {message}" for field, value in detail.items() for message in _errors(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _errors(value)]
    return [str(detail)]


def _inferred(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Pasted samples → the API's inference, or the reasons it cannot run."""
    try:
        events = json.loads(text)
    except ValueError as exc:
        return [], [f"The samples are not JSON: {exc}."]
    if isinstance(events, dict):
        events = events.get("events", [events])
    data = InferInSerializer(data={"events": events})
    if not data.is_valid():
        return [], _errors(data.errors)
    return schemas_infer([(e["event_type"], e["payload"]) for e in data.validated_data["events"]]), []


def _submitted_properties(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """The review form's rows: property, type and required by position; unticked "keep" drops one."""
    names = request.POST.getlist("property")
    types = request.POST.getlist("type")
    kept = set(request.POST.getlist("keep"))
    required = set(request.POST.getlist("required"))
    return {
        name: {"type": kind, "required": name in required}
        for name, kind in zip(names, types, strict=False)
        if name in kept
    }


@tenant_page(rules.SCHEMAS)
@require_http_methods(["GET"])
def schema_list(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    schemas = selectors.schemas_of_tenant(tenant=ctx.tenant).order_by("event_type")
    return page(
        request,
        "console/schemas/list.html",
        {"schemas": schemas, "may_change": _may_change(ctx), "area": "schemas"},
        ctx=ctx,
    )


@tenant_page(rules.SCHEMAS)
@require_http_methods(["GET", "POST"])
def schema_new(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    """Paste samples → review what was inferred → save one event type's schema with enforcement."""
    _changes_only(ctx)
    form = SamplesForm(request.POST if request.POST.get("action") == "infer" else None)
    context: dict[str, Any] = {"form": form, "area": "schemas", "types": PropertyType.values}
    errors: list[str] = []
    if request.POST.get("action") == "infer" and form.is_valid():
        context["inferred"], errors = _inferred(form.cleaned_data["samples"])
        if not errors and not context["inferred"]:
            errors = ["The samples hold no events."]
    elif request.POST.get("action") == "save":
        data = EventSchemaSerializer(
            data={
                "event_type": request.POST.get("event_type", ""),
                "properties": _submitted_properties(request),
                "enforcement": request.POST.get("enforcement", Enforcement.OFF),
            }
        )
        if data.is_valid():
            try:
                schema = services.schema_create(tenant=ctx.tenant, **data.validated_data)
            except Invalid as exc:
                errors = exc.messages()
            else:
                messages.success(request, f"The schema of {schema.event_type} is saved.")
                return redirect("console:schema-detail", tenant_slug=ctx.tenant.slug, schema_id=schema.pk)
        else:
            errors = _errors(data.errors)
        # The same review again, with what was sent, so nothing typed is lost.
        context["inferred"] = [
            {
                "event_type": request.POST.get("event_type", ""),
                "properties": _submitted_properties(request),
                "enforcement": request.POST.get("enforcement", ""),
            }
        ]
    elif request.method == "POST" and request.POST.get("action") != "infer":
        errors = ["Paste sample events, then infer."]
    context["errors"] = errors
    status = 400 if errors or form.errors else 200
    return page(request, "console/schemas/new.html", context, ctx=ctx, status=status)


@tenant_page(rules.SCHEMAS)
@require_http_methods(["GET", "POST"])
def schema_detail(request: HttpRequest, ctx: TenantContext, schema_id: int) -> HttpResponse:
    """The schema's properties and counters; Members change its enforcement here."""
    schema = selectors.schema_get(tenant=ctx.tenant, schema_id=schema_id)
    form = EnforcementForm(request.POST or None, initial={"enforcement": schema.enforcement})
    if request.method == "POST" and form.is_valid():
        schema = services.schema_update(schema=schema, enforcement=form.cleaned_data["enforcement"])
        messages.success(
            request, f"Enforcement of {schema.event_type} is now {schema.get_enforcement_display()}."
        )
        return redirect("console:schema-detail", tenant_slug=ctx.tenant.slug, schema_id=schema.pk)
    return page(
        request,
        "console/schemas/detail.html",
        {"schema": schema, "form": form, "may_change": _may_change(ctx), "area": "schemas"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )


@tenant_page(rules.SCHEMAS)
@require_http_methods(["GET", "POST"])
def schema_delete(request: HttpRequest, ctx: TenantContext, schema_id: int) -> HttpResponse:
    """GET asks for confirmation, POST deletes."""
    _changes_only(ctx)
    schema = selectors.schema_get(tenant=ctx.tenant, schema_id=schema_id)
    if request.method == "POST":
        services.schema_delete(schema=schema)
        messages.success(
            request, f"The schema of {schema.event_type} is deleted; its events are no longer checked."
        )
        return redirect("console:schema-list", tenant_slug=ctx.tenant.slug)
    return page(request, "console/schemas/delete.html", {"schema": schema, "area": "schemas"}, ctx=ctx)
