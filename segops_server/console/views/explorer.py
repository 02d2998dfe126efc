"""Explorer: look a user up, then see their properties, recent events and segments."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console.access import page, tenant_page
from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.explorer import selectors as users
from segops_server.segments.definitions import selectors as segments
from segops_server.segments.delivery import selectors as membership

SEARCH_LIMIT = 50
EVENTS_LIMIT = 50


@tenant_page(rules.EXPLORER)
@require_http_methods(["GET"])
def explorer(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_ID_LENGTH]
    found = list(users.users_search(tenant=ctx.tenant, q=q)[: SEARCH_LIMIT + 1]) if q else []
    return page(
        request,
        "console/explorer/search.html",
        {"q": q, "users": found[:SEARCH_LIMIT], "more": len(found) > SEARCH_LIMIT, "area": "explorer"},
        ctx=ctx,
    )


@tenant_page(rules.EXPLORER)
@require_http_methods(["GET"])
def user_detail(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    # The id travels as a query parameter: user ids are free text and may hold "/" or "?".
    user_id = request.GET.get("user_id", "")
    profile = users.user_get(tenant=ctx.tenant, user_id=user_id)  # unknown: the console's 404 page
    event_type = request.GET.get("event_type", "").strip() or None
    events, _, _ = users.user_events_page(
        tenant=ctx.tenant, user_id=user_id, event_type=event_type, limit=EVENTS_LIMIT, cursor=None
    )
    member_of = membership.user_segments(tenant=ctx.tenant, user_id=user_id)
    counts = dict(
        segments.segments_of_tenant(tenant=ctx.tenant)
        .filter(pk__in=[s["id"] for s in member_of])
        .values_list("pk", "member_count")
    )
    return page(
        request,
        "console/explorer/user.html",
        {
            "profile": profile,
            "identity": users.user_identity(tenant=ctx.tenant, user_id=user_id),
            "events": events,
            "event_type": event_type or "",
            "member_of": [{**s, "member_count": counts.get(s["id"], 0)} for s in member_of],
            "area": "explorer",
        },
        ctx=ctx,
    )
