"""Settings → Audit log: who did what to the workspace's credentials (Admin and Owner)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.audit.models import Action
from segops_server.audit.selectors import audit_events_of_tenant
from segops_server.console.access import page, tenant_page

PAGE_SIZE = 50


@tenant_page(rules.AUDIT)
@require_http_methods(["GET"])
def audit_log(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    action = request.GET.get("action") or None
    if action not in Action.values:
        action = None
    events = audit_events_of_tenant(tenant=ctx.tenant, action=action).select_related("api_key")
    events_page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return page(
        request,
        "console/settings/audit.html",
        {"events": events_page, "actions": Action.choices, "action": action or "", "section": "audit"},
        ctx=ctx,
    )
