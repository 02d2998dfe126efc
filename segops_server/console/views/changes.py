"""A segment's Changes tab: who entered and who exited with each compute, oldest first with
Load more, as the API's feed (GET /api/segments/<id>/changes/) reads it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import is_htmx, page, tenant_page
from segops_server.core.cursors import cursor_encode
from segops_server.segments.changes.selectors import changes_page
from segops_server.segments.definitions import selectors

PAGE_SIZE = 100


@tenant_page(rules.SEGMENTS)
@require_http_methods(["GET"])
def segment_changes(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    """The tab; with htmx and `since`, only the next rows and their own Load more."""
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    since = request.GET.get("since") or None
    # One row more than shown tells whether there is more to load.
    changes, _cursor = changes_page(segment=segment, limit=PAGE_SIZE + 1, since=since)
    more = len(changes) > PAGE_SIZE
    changes = changes[:PAGE_SIZE]
    context = {
        "segment": segment,
        "changes": changes,
        "next_since": cursor_encode([changes[-1].id]) if more else "",
        "area": "segments",
        "tab": "changes",
        "retention_days": settings.SEGOPS_CHANGE_RETENTION_DAYS,
    }
    if is_htmx(request) and since:
        return page(request, "console/segments/_change_rows.html", context, ctx=ctx)
    return page(request, "console/segments/changes.html", context, ctx=ctx)
