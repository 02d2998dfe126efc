"""The console's one mapping of domain errors: the page, the status and the service's words."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from segops_server.console.errors import add_service_errors, status_of
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.core.errors import (
    Conflict,
    DomainError,
    Gone,
    Invalid,
    NotFound,
    PermissionDenied,
    Throttled,
    Unauthenticated,
    Unavailable,
)
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team


def _segment(team: Team) -> Segment:
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=None)


def _raising(error: DomainError) -> Any:
    def selector(**kwargs: Any) -> None:
        raise error

    return selector


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Invalid("Bad."), 400),
        (Unauthenticated("Who?"), 401),
        (PermissionDenied("No."), 403),
        (NotFound("Gone missing."), 404),
        (Conflict("Clash."), 409),
        (Gone("Expired."), 410),
        (Throttled("Slow.", wait=5), 429),
        (Unavailable("Down."), 503),
    ],
)
def test_it_gives_each_domain_error_the_apis_status(error: DomainError, status: int) -> None:
    assert status_of(error) == status


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (Conflict("This segment is busy right now."), 409, "This segment is busy right now."),
        (Gone("This export has expired."), 410, "This export has expired."),
        (PermissionDenied("Only the Owner may do this."), 403, "Only the Owner may do this."),
        (Throttled("Too many.", wait=9), 429, "Too many."),
    ],
)
def test_it_renders_an_unhandled_domain_error_as_a_page(
    team: Team,
    console: ConsoleFor,
    monkeypatch: pytest.MonkeyPatch,
    error: DomainError,
    status: int,
    text: str,
) -> None:
    segment = _segment(team)
    monkeypatch.setattr("segops_server.segments.definitions.selectors.segment_get", _raising(error))
    response = console("viewer").get(f"/t/acme/segments/{segment.pk}/")
    assert response.status_code == status
    assert text in response.content.decode()
    assert "Traceback" not in response.content.decode()
    if status == 429:
        assert response["Retry-After"] == "9"


def test_it_renders_not_found_as_the_outsiders_404(
    team: Team, console: ConsoleFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    segment = _segment(team)
    missing = console("viewer").get("/t/acme/segments/999999/")
    monkeypatch.setattr(
        "segops_server.segments.definitions.selectors.segment_get", _raising(NotFound("Segment not found."))
    )
    response = console("viewer").get(f"/t/acme/segments/{segment.pk}/")
    assert response.status_code == missing.status_code == 404
    assert "Not found" in response.content.decode()


class _Form(forms.Form):
    email = forms.CharField(required=False)
    expires_on = forms.DateField(required=False)


def test_it_puts_field_errors_on_their_fields_and_the_rest_on_the_form() -> None:
    form = _Form(data={})
    assert form.is_valid()
    add_service_errors(
        form,
        Invalid({"email": ["Taken."], "expires_at": ["Must be in the future."], "other": "Odd."}),
        rename={"expires_at": "expires_on"},
    )
    assert form.errors["email"] == ["Taken."]
    assert form.errors["expires_on"] == ["Must be in the future."]
    assert form.non_field_errors() == ["Odd."]


def test_it_puts_a_plain_message_on_the_form() -> None:
    form = _Form(data={})
    assert form.is_valid()
    add_service_errors(form, Conflict("This person is already a member of the tenant."))
    assert form.non_field_errors() == ["This person is already a member of the tenant."]


def test_it_renders_a_domain_error_on_a_page_outside_any_tenant(
    team: Team, console: ConsoleFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "segops_server.accounts.services.tenant_create",
        _raising(Conflict("That workspace is being created.")),
    )
    response = console("member").post("/workspaces/new/", {"name": "Initech", "slug": "initech"})
    assert response.status_code == 409
    assert "That workspace is being created." in response.content.decode()
