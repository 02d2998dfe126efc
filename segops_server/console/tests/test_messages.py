"""The console's one-time messages ("… is revoked"), with their storage built only when used."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from segops_server.console.middleware import LazyMessageMiddleware
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key

LIST = "/t/acme/settings/api-keys/"


def test_a_message_is_shown_once_on_the_next_page_even_after_api_requests_between(
    team: Team, console: ConsoleFor
) -> None:
    issued = make_api_key(team.tenant, name="Production Ingestor")
    admin = console("admin")
    admin.post(f"/t/acme/settings/api-keys/{issued.api_key.pk}/revoke/")
    # A request that never reads the messages leaves them where they are.
    whoami = admin.get("/api/auth/whoami/")
    assert whoami.status_code == 200
    assert "messages" not in whoami.cookies
    shown = admin.get(LIST).content.decode()
    assert "is revoked: it gets 401 from now on." in shown
    assert "is revoked: it gets 401 from now on." not in admin.get(LIST).content.decode()


def test_a_request_that_uses_no_message_never_builds_the_storage() -> None:
    request = RequestFactory().get("/api/auth/whoami/")
    middleware = LazyMessageMiddleware(lambda request: HttpResponse())

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    middleware.process_request(request)
    response = middleware.process_response(request, view(request))
    assert request._messages.__dict__["_wrapped"] is empty  # type: ignore[attr-defined]
    assert not response.cookies
