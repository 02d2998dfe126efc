"""The dashboard, the workspace's first page: overview figures, each segment's size over 30 days,
events per day and the overlap of the largest segments (analytics' own selectors)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.analytics import selectors as analytics
from segops_server.console import charts
from segops_server.console.access import page, tenant_page
from segops_server.core.errors import Invalid

TREND_SEGMENTS = 6  # the largest segments drawn in the trend chart (one colour each)
OVERLAP_ROWS = 10


@tenant_page(rules.ANALYTICS)
@require_http_methods(["GET"])
def tenant_home(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    """/t/<slug>/: the dashboard."""
    tenant = ctx.tenant
    trends = analytics.segment_trends(tenant=tenant)
    largest = sorted(trends, key=lambda s: (-s["member_count"], s["id"]))[:TREND_SEGMENTS]
    try:
        overlap = analytics.overlap(tenant=tenant)[:OVERLAP_ROWS]
        overlap_error = ""
    except Invalid as exc:  # too long to count: said in its place, the rest of the page still shown
        overlap, overlap_error = [], " ".join(exc.messages())
    return page(
        request,
        "console/dashboard/home.html",
        {
            "overview": analytics.overview(tenant=tenant),
            "trend": charts.lines(largest),
            "segments_total": len(trends),
            "events": charts.bars(analytics.events_per_day(tenant=tenant)),
            "overlap": overlap,
            "overlap_error": overlap_error,
            "area": "dashboard",
        },
        ctx=ctx,
    )
