"""A database that is away (or a SQLite write lock held elsewhere) is a 503 with Retry-After on
every interface, logged once per outage rather than once per request."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from segops_server.core.outage import (
    WriteLockBusy,
    database_unavailable_log,
    is_database_unavailable,
)
from segops_server.ingestion.tests.helpers import TRACK, event, stored_events
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

pytestmark = pytest.mark.django_db


def _wrapped(message: str, cause: BaseException | None = None) -> OperationalError:
    """What Django raises: its own OperationalError with the driver's exception as the cause."""
    exc = OperationalError(message)
    exc.__cause__ = cause
    return exc


def _refused() -> OperationalError:
    return _wrapped("connection failed: Connection refused", psycopg.OperationalError("connection refused"))


@pytest.fixture(autouse=True)
def _fresh_log() -> Iterator[None]:
    database_unavailable_log.reset()
    yield
    database_unavailable_log.reset()


def _fail_with(monkeypatch: pytest.MonkeyPatch, target: str, exc: BaseException) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(target, broken)


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "segops.database"]


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (_refused(), True),
        (_wrapped("terminating connection", psycopg.errors.AdminShutdown("57P01")), True),
        (InterfaceError("connection already closed"), True),
        (_wrapped("database is locked"), True),
        (WriteLockBusy("database is locked"), True),
        (_wrapped("unable to open database file"), True),
        (_wrapped("canceling statement", psycopg.errors.QueryCanceled("57014")), False),
        (_wrapped("no such table: segments_segment"), False),
        (_wrapped("parser stack overflow"), False),
        (RuntimeError("database is locked"), False),
    ],
)
def test_it_tells_an_outage_from_a_failing_query(exc: BaseException, unavailable: bool) -> None:
    assert is_database_unavailable(exc) is unavailable


def test_it_answers_a_drf_view_with_503_and_logs_once(
    team: Team, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_with(monkeypatch, "segops_server.segments.definitions.selectors.segments_of_tenant", _refused())
    client = team.client("viewer")
    with caplog.at_level(logging.INFO):
        answers = [client.get("/api/segments/") for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 503
        assert answer["Retry-After"] == "2"
        assert answer.json() == {"detail": "The database is unavailable right now; retry shortly."}
    lines = _outage_lines(caplog)
    assert len(lines) == 1
    assert "Connection refused" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.name == "django.request"]  # no line per request
    assert not [r for r in caplog.records if r.exc_info]  # and no traceback


def test_it_answers_a_busy_write_lock_with_503(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_with(monkeypatch, "segops_server.ingestion.api.events_store", WriteLockBusy("database is locked"))
    client = team.client("owner")
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {make_api_key(team.tenant).key}")
    answer = client.post(TRACK, event(), format="json")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "2"
    assert answer.json() == {"detail": "The database is busy with another write; retry shortly."}


def test_it_answers_the_console_with_503(
    team: Team, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_with(monkeypatch, "segops_server.console.views.segments.selectors.segments_of_tenant", _refused())
    browser = Client(raise_request_exception=False)
    browser.force_login(team.viewer)
    with caplog.at_level(logging.INFO):
        answers = [browser.get("/t/acme/segments/") for _ in range(2)]
    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0]["Retry-After"] == "2"
    assert answers[0].json() == {"detail": "The database is unavailable right now; retry shortly."}
    assert len(_outage_lines(caplog)) == 1
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_it_answers_the_fast_path_with_503(
    team: Team, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_with(monkeypatch, "segops_server.ingestion.api.events_store", _refused())
    auth = {"Authorization": f"ApiKey {make_api_key(team.tenant).key}"}
    app = Application()  # sets Django's logging up again, without pytest's capturing handler
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO):
        answer = app.fast("POST", TRACK, event(), headers=auth)
    assert (answer.served_by, answer.status) == ("fast path", 503)
    assert answer.header("retry-after") == "2"
    assert answer.json() == {"detail": "The database is unavailable right now; retry shortly."}
    assert len(_outage_lines(caplog)) == 1
    assert not [r for r in caplog.records if r.exc_info]
    assert stored_events(team.tenant) == []


def test_it_still_answers_500_for_a_failing_query(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_with(
        monkeypatch,
        "segops_server.console.views.segments.selectors.segments_of_tenant",
        _wrapped("no such table: segments_segment"),
    )
    browser = Client(raise_request_exception=False)
    browser.force_login(team.viewer)
    answer = browser.get("/t/acme/segments/")
    assert answer.status_code == 500
    assert "no such table" not in answer.content.decode()
