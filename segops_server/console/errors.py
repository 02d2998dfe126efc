"""The console's one mapping of domain errors (core/errors.py) to pages, statuses and form errors.

The API maps the same errors in core/errors.py; both say the service's own words, so a person
in the console reads what an API client reads.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse

from segops_server.access.tenants import TenantContext
from segops_server.core.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
)


def status_of(exc: DomainError) -> int:
    """The status of the page for `exc`: the one each kind declares (core/errors.py)."""
    return exc.http_status


def add_service_errors(form: forms.Form, exc: DomainError, *, rename: dict[str, str] | None = None) -> None:
    """Field errors land on the form field of that name (or its `rename`), the rest on the form."""
    rename = rename or {}
    detail = exc.detail
    if not isinstance(detail, dict):
        for message in exc.messages():
            form.add_error(None, message)
        return
    for field, value in detail.items():
        target = rename.get(str(field), str(field))
        for message in DomainError(value).messages():
            form.add_error(target if target in form.fields else None, message)


def error_page(request: HttpRequest, ctx: TenantContext | None, exc: DomainError) -> HttpResponse:
    """The page for a domain error a view did not handle itself: 404 and 403 pages as the
    tenant check draws them (an outsider's 404 looks the same), the message for the rest."""
    from segops_server.console.access import not_found, page, refused

    if isinstance(exc, NotFound):
        return not_found(request, ctx)
    if isinstance(exc, PermissionDenied):
        return refused(request, ctx, str(exc) or "You may not do this.")
    status = status_of(exc)
    response = page(
        request, "console/errors/error.html", {"message": str(exc), "status": status}, ctx=ctx, status=status
    )
    wait = getattr(exc, "wait", None)
    if status in (429, 503) and wait:
        response["Retry-After"] = str(wait)
    return response
