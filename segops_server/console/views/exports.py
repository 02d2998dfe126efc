"""A segment's Export card: ask for a CSV or Parquet file, watch it being written, download it.

The same rights as the API: whoever may read a segment's members (Viewer and up) may export them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import is_htmx, not_found, page, signed_in_person, tenant_page
from segops_server.core.errors import DomainError
from segops_server.segments.definitions import selectors
from segops_server.segments.exports import services as exports
from segops_server.segments.models import ExportFormat, Segment


def export_card(segment: Segment) -> dict[str, Any]:
    """What the Export card (segments/_export.html) shows, wherever it is drawn."""
    return {
        "export": exports.export_latest(segment=segment),
        "retention_hours": settings.SEGOPS_EXPORT_RETENTION_HOURS,
    }


def _card(request: HttpRequest, ctx: TenantContext, segment: Segment, error: str = "") -> HttpResponse:
    context = {"segment": segment, "export_error": error, **export_card(segment)}
    return page(request, "console/segments/_export.html", context, ctx=ctx)


@tenant_page(rules.EXPORTS)
@require_POST
def segment_export(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    form = request.POST.get("format", ExportFormat.CSV)
    error = ""
    if form not in ExportFormat.values:
        error = "Choose CSV or Parquet."
    else:
        try:
            exports.export_request(
                segment=segment, format=form, actor=signed_in_person(request), request=request
            )
        except DomainError as exc:  # never computed: nothing to export yet
            error = str(exc)
    if is_htmx(request):
        return _card(request, ctx, segment, error)
    if error:
        messages.error(request, error)
    return redirect("console:segment-detail", tenant_slug=ctx.tenant.slug, segment_id=segment.pk)


@tenant_page(rules.EXPORTS)
@never_cache
@require_http_methods(["GET"])
def segment_export_status(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    """The card; while the newest export is being written it asks for itself again every second."""
    return _card(request, ctx, selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id))


@tenant_page(rules.EXPORTS)
@require_http_methods(["GET"])
def segment_export_download(request: HttpRequest, ctx: TenantContext, export_id: UUID) -> HttpResponseBase:
    export = exports.export_get(tenant=ctx.tenant, export_id=export_id)
    if export is None:
        return not_found(request, ctx)
    try:
        file = exports.export_download(export=export, actor=signed_in_person(request), request=request)
    except DomainError as exc:  # not ready, failed, expired
        messages.error(request, str(exc))
        return redirect("console:segment-detail", tenant_slug=ctx.tenant.slug, segment_id=export.segment_id)
    return exports.download_response(export, file)
