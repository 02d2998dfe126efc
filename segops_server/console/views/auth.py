"""Sign-up, sign-in, sign-out, the entry page at / and creating a workspace."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from segops_server.accounts import services, throttling
from segops_server.accounts.models import User
from segops_server.accounts.selectors import memberships_of_user
from segops_server.console.access import page, person_page, signed_in_person, too_many
from segops_server.console.errors import add_service_errors
from segops_server.console.forms import SignInForm, SignUpForm, TenantForm
from segops_server.core.errors import Invalid


def entry(request: HttpRequest) -> HttpResponse:
    """/: the sign-in page for strangers, the first workspace for people, or a new workspace."""
    person = signed_in_person(request)
    if person is None:
        return redirect("console:sign-in")
    first = memberships_of_user(user=person).first()
    if first is None:
        return redirect("console:tenant-new")
    return redirect("console:tenant-home", tenant_slug=first.tenant.slug)


def _next_url(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        # The API's failed-login throttles (per account, per address) guard this door too.
        wait = throttling.login_retry_after(request, email)
        if wait is not None:
            form.add_error(None, f"Too many failed sign-in attempts; try again in {wait} seconds.")
            status = 429
        else:
            user = authenticate(request, email=email, password=form.cleaned_data["password"])
            if isinstance(user, User):
                throttling.login_failures_clear(request, email)
                login(request, user)  # a new session id; user_logged_in records the audit event
                return redirect(_next_url(request) or "console:entry")
            throttling.login_failure_record(request, email)
            # The same words whether the email exists or not.
            form.add_error(None, "Wrong email or password.")
            status = 400
    return page(
        request,
        "console/auth/sign_in.html",
        {"form": form, "next": _next_url(request), "registration": settings.SEGOPS_ALLOW_REGISTRATION},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if not settings.SEGOPS_ALLOW_REGISTRATION:
        return page(request, "console/auth/sign_up_closed.html", status=403)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and (wait := throttling.address_rate_take(request, "registration")):
        return too_many(
            request, "console/auth/sign_up.html", {"form": form, "next": _next_url(request)}, wait
        )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.user_register(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                tenant_name=form.cleaned_data.get("tenant_name") or None,
                tenant_slug=form.cleaned_data.get("tenant_slug") or None,
            )
        except Invalid as exc:
            add_service_errors(form, exc, rename={"tenant_slug": "tenant_slug"})
        else:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next_url(request) or "console:entry")
    return page(
        request,
        "console/auth/sign_up.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """POST only (with the CSRF token): a link or an image cannot sign anyone out."""
    logout(request)
    return redirect("console:sign-in")


@person_page
@require_http_methods(["GET", "POST"])
def tenant_new(request: HttpRequest, person: User) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and (wait := throttling.address_rate_take(request, "tenant_creation")):
        return too_many(request, "console/tenants/new.html", {"form": form}, wait)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(owner=person, request=request, **form.cleaned_data)
        except Invalid as exc:
            add_service_errors(form, exc)
        else:
            return redirect("console:tenant-home", tenant_slug=tenant.slug)
    return page(request, "console/tenants/new.html", {"form": form}, status=400 if form.errors else 200)
