"""Explorer → Sandbox: which segments a user would enter or leave if an event happened (the
explorer's sandbox, spec §8; nothing is stored). Members and up, as the API's SANDBOX policy."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import page, tenant_page
from segops_server.core.errors import Invalid
from segops_server.explorer.sandbox import sandbox_publish
from segops_server.ingestion.validation import EventError, event_validate

PAYLOAD_LIMIT = 64_000


class SandboxForm(forms.Form):
    user_id = forms.CharField(max_length=255)
    event_type = forms.CharField(max_length=100, help_text="snake_case, as events are sent.")
    occurred_at = forms.CharField(
        required=False, max_length=64, help_text="ISO 8601, e.g. 2026-01-31T12:00:00Z; empty: now."
    )
    payload = forms.CharField(
        required=False,
        max_length=PAYLOAD_LIMIT,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "placeholder": '{"amount": 30}'}),
        help_text="A JSON object; empty: {}.",
    )

    def clean_payload(self) -> dict[str, Any]:
        text = self.cleaned_data["payload"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The payload is a JSON object: {…}.")
        return value


@tenant_page(rules.SANDBOX)
@require_http_methods(["GET", "POST"])
def sandbox(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    if not rules.SANDBOX.permits(ctx, "POST"):  # the form only leads to the Member's call
        raise PermissionDenied("The sandbox is for Members and above.")
    form = SandboxForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        raw = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        raw["payload"] = form.cleaned_data["payload"]
        try:
            # The same check as ingestion's for one event, as the API's sandbox does.
            event = event_validate(raw, now=timezone.now())
        except EventError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            try:
                result = sandbox_publish(tenant=ctx.tenant, event=event)
            except Invalid as exc:
                for message in exc.messages():
                    form.add_error(None, message)
    return page(
        request,
        "console/explorer/sandbox.html",
        {"form": form, "result": result, "area": "explorer"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )
