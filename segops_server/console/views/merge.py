"""Explorer → Merge users: from now on one user's events and traits count for another (the API's
identity merge, spec §14). Admins and up, as the API's IDENTITY policy; asks before it merges."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import page, tenant_page
from segops_server.core.errors import Invalid
from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.identity.services import identity_merge


class MergeForm(forms.Form):
    from_user_id = forms.CharField(
        max_length=MAX_ID_LENGTH, strip=False, label="Merge this user", help_text="Its events stay as sent."
    )
    into_user_id = forms.CharField(max_length=MAX_ID_LENGTH, strip=False, label="into this user")
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


@tenant_page(rules.IDENTITY)
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    if not rules.IDENTITY.permits(ctx, "POST"):  # the form only leads to the Admin's call
        raise PermissionDenied("Merging users is for Admins and above.")
    form = MergeForm(request.POST or None)
    confirm = merged = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not data["confirmed"]:
            confirm = data  # the question first: a merge changes every segment
        else:
            try:
                merged = identity_merge(
                    tenant=ctx.tenant,
                    from_user_id=data["from_user_id"],
                    into_user_id=data["into_user_id"],
                    actor=request.user,
                    request=request,
                )
            except Invalid as exc:
                fields = exc.detail if isinstance(exc.detail, dict) else {}
                field = next((name for name in fields if name in form.fields), None)
                for message in exc.messages():
                    form.add_error(field, message)
    return page(
        request,
        "console/explorer/merge.html",
        {"form": form, "confirm": confirm, "merged": merged, "area": "explorer"},
        ctx=ctx,
        status=400 if form.errors else 200,
    )
