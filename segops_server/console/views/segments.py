"""Segments: the list, + New Segment, the rule builder with Preview and Save Definition."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.console import builder
from segops_server.console.access import is_htmx, page, tenant_page
from segops_server.console.forms import SegmentDetailsForm
from segops_server.console.views.activations import activations_card
from segops_server.console.views.exports import export_card
from segops_server.core.errors import Invalid
from segops_server.segments.definitions import selectors, services
from segops_server.segments.models import Segment

PAGE_SIZE = 50
EDITOR = "console/segments/edit.html"
PREVIEW_SAMPLE = 10
MAX_REFERENCEABLE = 500  # segments offered in a segment_membership row


@tenant_page(rules.SEGMENTS)
@require_http_methods(["GET"])
def segment_list(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    segments = Paginator(selectors.segments_of_tenant(tenant=ctx.tenant), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return page(request, "console/segments/list.html", {"segments": segments, "area": "segments"}, ctx=ctx)


def _referenceable(ctx: TenantContext, segment: Segment | None) -> list[tuple[int, str]]:
    segments = selectors.segments_of_tenant(tenant=ctx.tenant)
    if segment is not None:
        segments = segments.exclude(pk=segment.pk)
    return list(segments.values_list("pk", "name")[:MAX_REFERENCEABLE])


def _urls(ctx: TenantContext, segment: Segment | None) -> dict[str, str]:
    slug = ctx.tenant.slug
    form_url = (
        reverse("console:segment-detail", args=[slug, segment.pk])
        if segment
        else reverse("console:segment-new", args=[slug])
    )
    return {"form_url": form_url, "preview_url": reverse("console:segment-preview", args=[slug])}


def _editor(
    request: HttpRequest,
    ctx: TenantContext,
    *,
    segment: Segment | None,
    tree: builder.Node,
    details: SegmentDetailsForm,
    template: str = EDITOR,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    builder.prepare(tree, _referenceable(ctx, segment))
    context = {
        "segment": segment,
        "tree": tree,
        "details": details,
        "editable": rules.SEGMENTS.permits(ctx, "POST"),
        "area": "segments",
        **(export_card(segment) if segment and template == EDITOR else {}),  # not on builder redraws
        **(activations_card(ctx, segment) if segment and template == EDITOR else {}),
        **_urls(ctx, segment),
        **extra,
    }
    return page(request, template, context, ctx=ctx, status=status)


def _definition_error(exc: Invalid) -> str:
    """The one message of a service's 400: {"definition": [...]} or {"detail": "..."}."""
    detail: Any = exc.detail
    if isinstance(detail, dict):
        detail = detail.get("definition") or next(iter(detail.values()), "")
    if isinstance(detail, list):
        detail = detail[0] if detail else ""
    return str(detail)


@tenant_page(rules.SEGMENTS)
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    if request.method == "GET":
        return _editor(request, ctx, segment=None, tree=builder.new_tree(), details=SegmentDetailsForm())
    return _edit_post(request, ctx, segment=None)


@tenant_page(rules.SEGMENTS)
@require_http_methods(["GET", "POST"])
def segment_detail(request: HttpRequest, ctx: TenantContext, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(tenant=ctx.tenant, segment_id=segment_id)
    if request.method == "GET":
        details = SegmentDetailsForm(initial={"name": segment.name, "description": segment.description})
        tree = builder.tree_from_definition(segment.definition)
        return _editor(request, ctx, segment=segment, tree=tree, details=details)
    return _edit_post(request, ctx, segment=segment)


def _edit_post(request: HttpRequest, ctx: TenantContext, *, segment: Segment | None) -> HttpResponse:
    """Member and up: a builder action (add/remove a row, change a type) or Save Definition."""
    tree = builder.tree_from_post(request.POST)
    details = SegmentDetailsForm(request.POST)
    action = request.POST.get("action", "")
    if action == "save":
        return _save(request, ctx, segment=segment, tree=tree, details=details)
    notice = builder.apply_action(tree, action)
    if is_htmx(request):
        return _editor(
            request,
            ctx,
            segment=segment,
            tree=tree,
            details=details,
            template="console/segments/_builder.html",
            builder_message=notice,
        )
    details = SegmentDetailsForm(initial=request.POST.dict())  # no errors shown before Save
    return _editor(request, ctx, segment=segment, tree=tree, details=details, builder_message=notice)


def _save(
    request: HttpRequest,
    ctx: TenantContext,
    *,
    segment: Segment | None,
    tree: builder.Node,
    details: SegmentDetailsForm,
) -> HttpResponse:
    definition = builder.tree_to_definition(tree)
    if details.is_valid():
        actor = ctx.membership.user if ctx.membership else None
        try:
            if segment is None:
                segment = services.segment_create(
                    tenant=ctx.tenant, actor=actor, definition=definition, **details.cleaned_data
                )
                messages.success(
                    request, f"Segment “{segment.name}” saved as version 1. Recompute to fill it."
                )
            else:
                before = segment.definition
                segment = services.segment_update(
                    segment=segment, actor=actor, definition=definition, **details.cleaned_data
                )
                changed = (
                    "a new version of the definition" if segment.definition != before else "no rule changes"
                )
                messages.success(request, f"Saved, with {changed}.")
        except Invalid as exc:
            builder.place_error(tree, _definition_error(exc))
        else:
            return redirect("console:segment-detail", tenant_slug=ctx.tenant.slug, segment_id=segment.pk)
    return _editor(request, ctx, segment=segment, tree=tree, details=details, status=400)


def _preview(ctx: TenantContext, tree: builder.Node, definition: Any) -> dict[str, Any]:
    try:
        cleaned = services.definition_clean(tenant=ctx.tenant, definition=definition)
    except Invalid as exc:
        message = _definition_error(exc)
        builder.place_error(tree, message)
        return {"error": message}
    try:
        return selectors.preview(tenant=ctx.tenant, definition=cleaned, limit=PREVIEW_SAMPLE)
    except Invalid as exc:  # the rule ran past the preview's time limit
        return {"error": _definition_error(exc)}


@tenant_page(rules.SEGMENT_PREVIEW)
@require_POST
def segment_preview(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    """Like POST /api/segments/preview/, Viewers may preview: it reads, it writes nothing.

    The builder's state is previewed as it stands; `preview-saved` previews a segment's saved
    definition (the Viewer's read-only page has no builder inputs to post).
    """
    segment_id = request.POST.get("segment_id", "")
    segment = (
        selectors.segment_get(tenant=ctx.tenant, segment_id=int(segment_id)) if segment_id.isdigit() else None
    )
    if request.POST.get("action") == "preview-saved" and segment is not None:
        tree = builder.tree_from_definition(segment.definition)
        definition: Any = segment.definition
    else:
        tree = builder.tree_from_post(request.POST)
        definition = builder.tree_to_definition(tree)
    preview = _preview(ctx, tree, definition)
    if is_htmx(request):
        builder.prepare(tree, _referenceable(ctx, segment))
        context = {
            "preview": preview,
            "tree": tree,
            "editable": rules.SEGMENTS.permits(ctx, "POST") and request.POST.get("action") != "preview-saved",
            **_urls(ctx, segment),
        }
        return page(request, "console/segments/_preview_answer.html", context, ctx=ctx)
    if segment is not None and request.POST.get("action") != "preview-saved":
        details = SegmentDetailsForm(initial=request.POST.dict())
    else:
        details = SegmentDetailsForm(initial={"name": getattr(segment, "name", ""), "description": ""})
    return _editor(request, ctx, segment=segment, tree=tree, details=details, preview=preview)
