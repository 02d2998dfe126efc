"""The short way (core/fastpath.py) keeps what the middleware and Django's handler do."""

from __future__ import annotations

import pytest
from django.test import override_settings

from segops_server.ingestion.tests.helpers import TRACK, event, stored_events
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

pytestmark = pytest.mark.django_db

MEMBERSHIP = "/api/segments/membership/"


@pytest.fixture
def auth(team: Team) -> dict[str, str]:
    return {"Authorization": f"ApiKey {make_api_key(team.tenant).key}"}


def test_it_sends_hsts_over_https_like_the_middleware(auth: dict[str, str]) -> None:
    with override_settings(SECURE_HSTS_SECONDS=3600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True):
        app = Application()
        fast = app.fast("POST", TRACK, event(), headers=auth, secure=True)
        django = app.django("POST", TRACK, event(), headers=auth, secure=True)
    assert fast.served_by == "fast path"
    assert fast.header("strict-transport-security") == "max-age=3600; includeSubDomains"
    assert fast.headers == django.headers


def test_answers_of_one_kind_share_headers_but_not_their_length(auth: dict[str, str]) -> None:
    """The short way finishes one answer of each kind with the middleware and reuses its headers:
    an HTTPS answer after a plain one still gets HSTS, and each answer its own Content-Length."""
    with override_settings(SECURE_HSTS_SECONDS=60):
        app = Application()
        plain = app.fast("GET", f"{MEMBERSHIP}?user_id=u-1", headers=auth)
        secure = app.fast("GET", f"{MEMBERSHIP}?user_id=u-1", headers=auth, secure=True)
        longer = app.fast("GET", f"{MEMBERSHIP}?user_id=u-{'x' * 40}", headers=auth, secure=True)
        django = app.django("GET", f"{MEMBERSHIP}?user_id=u-{'x' * 40}", headers=auth, secure=True)
    assert {plain.served_by, secure.served_by, longer.served_by} == {"fast path"}
    assert plain.header("strict-transport-security") is None
    assert secure.header("strict-transport-security") == "max-age=60"
    assert len(longer.body) > len(secure.body)
    for answer in (plain, secure, longer):
        assert answer.header("content-length") == str(len(answer.body))
    assert [(k, v) for k, v in longer.headers if k != "x-request-id"] == [
        (k, v) for k, v in django.headers if k != "x-request-id"
    ]
    assert longer.body == django.body


def test_it_leaves_the_https_redirect_to_the_middleware(auth: dict[str, str]) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        answer = Application().fast("POST", TRACK, event(), headers=auth)
    assert (answer.served_by, answer.status) == ("django", 301)


def test_a_declined_request_reaches_django_with_its_body(team: Team, auth: dict[str, str]) -> None:
    answer = Application().fast("POST", TRACK, {"user_id": "u", "event_type": "Bad Type"}, headers=auth)
    assert (answer.served_by, answer.status) == ("django", 400)
    assert "event_type" in answer.json()


def test_an_error_inside_is_the_same_json_500_as_djangos(
    team: Team, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("segops_server.ingestion.api.events_store", broken)
    app = Application()
    fast = app.fast("POST", TRACK, event(), headers=auth)
    assert fast.served_by == "fast path"  # not retried through Django: it may have written
    assert fast.status == 500
    assert fast.header("content-type") == "application/json"
    assert "disk on fire" not in fast.body.decode()
    django = app.django("POST", TRACK, event(), headers=auth)
    assert (fast.status, fast.headers, fast.body) == (django.status, django.headers, django.body)
    assert stored_events(team.tenant) == []


def test_it_leaves_an_application_mounted_under_a_prefix_to_django(auth: dict[str, str]) -> None:
    answer = Application().fast("POST", TRACK, event(), headers=auth, SCRIPT_NAME="/segops")
    assert answer.served_by == "django"


def test_a_request_under_a_prefix_does_not_unroute_the_next_application(auth: dict[str, str]) -> None:
    Application().fast("POST", TRACK, event(), headers=auth, SCRIPT_NAME="/segops")  # Django sets the prefix
    answer = Application().fast("POST", TRACK, event(), headers=auth)
    assert (answer.served_by, answer.status) == ("fast path", 202)
