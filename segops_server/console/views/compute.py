"""A segment's Recompute button, the status that polls until the compute ends, and its History."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import is_htmx, page, tenant_page
from segops_server.console.builder import definition_json
from segops_server.console.views.exports import export_card
from segops_server.core.errors import Invalid
from segops_server.segments.compute import services
from segops_server.segments.definitions import selectors
from segops_server.segments.models import Status


@tenant_page(rules.SEGMENTS)
@require_POST
def segment_recompute(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    """Member and up, like POST /api/segments/<id>/compute/: queue a compute (coalesced if one runs)."""
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    try:
        services.segment_compute_request(segment=segment)
    except Invalid:
        messages.error(request, "Save a definition before computing.")
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    if is_htmx(request):
        return page(request, "console/segments/_status.html", {"segment": segment}, ctx=ctx)
    return redirect("console:segment-detail", tenant_slug=ctx.tenant.slug, segment_id=segment.pk)


@tenant_page(rules.SEGMENTS)
@never_cache
@require_http_methods(["GET"])
def segment_status(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    """The status card; while computing it carries `hx-trigger="every 1s"`, so polling stops by itself."""
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    context: dict[str, object] = {"segment": segment}
    if segment.status != Status.COMPUTING:  # the compute ended: the Export card follows (out of band)
        context.update(refresh_export=True, **export_card(segment))
    return page(request, "console/segments/_status.html", context, ctx=ctx)


@tenant_page(rules.SEGMENTS)
@require_http_methods(["GET"])
def segment_history(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    versions = [(v, definition_json(v.definition)) for v in selectors.versions_of_segment(segment=segment)]
    return page(
        request,
        "console/segments/history.html",
        {"segment": segment, "versions": versions, "area": "segments"},
        ctx=ctx,
    )
