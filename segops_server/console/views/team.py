"""Settings → Team: members and their roles, invitations (Admin and Owner manage; the Owner is fixed),
and the page an invitation's link opens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.access import rules
from segops_server.access.tenants import TenantContext
from segops_server.accounts import selectors, services, throttling
from segops_server.accounts.api import invitation_accept_url
from segops_server.accounts.models import User
from segops_server.console.access import is_htmx, page, person_page, tenant_page
from segops_server.console.errors import add_service_errors, status_of
from segops_server.console.forms import InviteForm, RoleForm
from segops_server.core.errors import DomainError

TEAM = "console/settings/team.html"


def _actor(ctx: TenantContext) -> User:
    assert ctx.membership is not None
    return ctx.membership.user


def _team_page(
    request: HttpRequest, ctx: TenantContext, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    admin = rules.INVITATIONS.permits(ctx, "GET")
    members = list(selectors.members_of_tenant(tenant=ctx.tenant))
    return page(
        request,
        TEAM,
        {
            "members": [(m, RoleForm(initial={"role": m.role}, prefix=f"m{m.user_id}")) for m in members],
            # GET /api/tenants/<slug>/invitations/'s rule: pending invitations are for Admins.
            "invitations": list(selectors.invitations_of_tenant(tenant=ctx.tenant)) if admin else [],
            "invite_form": invite_form or InviteForm(),
            "invitation_days": settings.SEGOPS_INVITATION_DAYS,
            "section": "team",
        },
        ctx=ctx,
        status=status,
    )


@tenant_page(rules.TEAM)
@require_http_methods(["GET"])
def team(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    return _team_page(request, ctx)


@tenant_page(rules.TEAM)
@never_cache
@require_POST
def invite(request: HttpRequest, ctx: TenantContext) -> HttpResponse:
    """The link is emailed to the invitee and shown here once, for the inviter to pass on."""
    form = InviteForm(request.POST)
    if wait := throttling.address_rate_take(request, "invitation"):
        form.is_valid()
        form.add_error(None, f"Too many requests from this address; try again in {wait} seconds.")
        response = _team_page(request, ctx, invite_form=form, status=429)
        response["Retry-After"] = str(wait)
        return response
    if form.is_valid():
        assert ctx.membership is not None
        try:
            issued = services.member_invite(
                tenant=ctx.tenant,
                invited_by=ctx.membership.user,
                accept_url_for=lambda token: invitation_accept_url(request, token),
                request=request,
                **form.cleaned_data,
            )
        except DomainError as exc:  # a bad role (400) or someone already in or invited (409)
            add_service_errors(form, exc)
        else:
            return page(
                request,
                "console/settings/invited.html",
                {
                    "invitation": issued.invitation,
                    "accept_url": invitation_accept_url(request, issued.token),
                    "section": "team",
                },
                ctx=ctx,
                status=201,
            )
    return _team_page(request, ctx, invite_form=form, status=400)


@tenant_page(rules.TEAM)
@require_POST
def change_role(request: HttpRequest, ctx: TenantContext, user_id: int) -> HttpResponse:
    membership = selectors.member_get(tenant=ctx.tenant, user_id=user_id)
    form = RoleForm(request.POST, prefix=f"m{user_id}")
    if not form.is_valid():
        messages.error(request, "Choose admin, member or viewer.")
    else:
        services.member_change_role(
            membership=membership, role=form.cleaned_data["role"], actor=_actor(ctx), request=request
        )
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    return redirect("console:settings-team", tenant_slug=ctx.tenant.slug)


@tenant_page(rules.TEAM_CHANGES)
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, ctx: TenantContext, user_id: int) -> HttpResponse:
    """GET asks for confirmation (a dialog with htmx, a page without); POST removes at once."""
    membership = selectors.member_get(tenant=ctx.tenant, user_id=user_id)
    if request.method == "POST":
        # The Owner is refused (403) in the service.
        services.member_remove(membership=membership, actor=_actor(ctx), request=request)
        messages.success(request, f"{membership.user.email} no longer has access to {ctx.tenant.name}.")
        return redirect("console:settings-team", tenant_slug=ctx.tenant.slug)
    template = "console/settings/_remove_dialog.html" if is_htmx(request) else "console/settings/remove.html"
    return page(request, template, {"membership": membership, "section": "team"}, ctx=ctx)


@tenant_page(rules.TEAM)
@require_POST
def cancel_invitation(request: HttpRequest, ctx: TenantContext, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(tenant=ctx.tenant, invitation_id=invitation_id)
    services.invitation_cancel(invitation=invitation, actor=_actor(ctx), request=request)
    messages.success(request, f"The invitation for {invitation.email} is cancelled.")
    return redirect("console:settings-team", tenant_slug=ctx.tenant.slug)


@person_page
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, person: User, token: str) -> HttpResponse:
    """The link in the invitation email. GET only shows the offer (mail scanners open links);
    joining takes a POST by the person signed in as the invited email."""
    invitation = selectors.invitation_for_token(token=token)
    status = 200
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=person, request=request)
        except DomainError as exc:
            messages.error(request, str(exc))
            status = status_of(exc)
        else:
            messages.success(
                request, f"You joined {membership.tenant.name} as {membership.get_role_display()}."
            )
            return redirect("console:tenant-home", tenant_slug=membership.tenant.slug)
    elif invitation is None:
        status = 404
    return page(
        request,
        "console/settings/accept.html",
        {
            "invitation": invitation,
            "token": token,
            "for_someone_else": invitation is not None and invitation.email != person.email,
        },
        status=status,
    )
