"""The short way's environ reader and request signals (core/environ_request.py, core/requestsignals.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core import signals
from django.db import connections
from django.http import QueryDict
from django.test import override_settings
from hypothesis import example, given
from hypothesis import strategies as st

from segops_server.core import requestsignals
from segops_server.core.environ_request import EnvironRequest, plain_query

_QUERY_TEXT = st.text(alphabet="ab=&%+;:@/._-~!$'()*, ü2F0", max_size=24)


@given(_QUERY_TEXT)
@example("user_id=alice&segment_id=3")
@example("user_id=a%2Fb")
@example("user_id")
@example("a=1&&b=2")
@example("a==b")
def test_a_query_it_reads_is_read_as_querydict_reads_it(query: str) -> None:
    params = plain_query(query)
    if params is not None:
        assert params.lists() == list(QueryDict(query).lists())


@pytest.mark.parametrize(
    "query",
    ["user_id=a%2Fb", "user_id=a+b", "user_id=a;b=1", "user_id", "a=1&&b=2", "user_id=ü", "&a=1"],
)
def test_what_needs_decoding_or_is_unusual_is_left_to_django(query: str) -> None:
    assert plain_query(query) is None


def test_more_pairs_than_a_route_takes_are_left_to_django() -> None:
    assert plain_query("&".join(f"p{n}=1" for n in range(9))) is None
    assert plain_query("&".join(f"p{n}=1" for n in range(8))) is not None


def _environ(**extra: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/segments/membership/",
        "QUERY_STRING": "user_id=alice",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        **extra,
    }


def test_only_a_get_without_a_body_is_read_from_the_environ() -> None:
    request = EnvironRequest.of(_environ())
    assert request is not None
    assert (request.method, request.path_info, request.GET.lists()) == (
        "GET",
        "/api/segments/membership/",
        [("user_id", ["alice"])],
    )
    assert EnvironRequest.of(_environ(REQUEST_METHOD="POST")) is None
    assert EnvironRequest.of(_environ(CONTENT_LENGTH="2")) is None
    assert EnvironRequest.of(_environ(QUERY_STRING="user_id=a%20b")) is None


def test_https_is_judged_as_django_judges_it() -> None:
    plain = EnvironRequest.of(_environ(**{"wsgi.url_scheme": "https"}))
    assert plain is not None
    assert plain.is_secure()
    behind = _environ(HTTP_X_FORWARDED_PROTO="https")
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        request = EnvironRequest.of(behind)
        assert request is not None
        assert request.is_secure()
        assert request.is_secure() == request.django().is_secure()
    request = EnvironRequest.of(behind)
    assert request is not None
    assert not request.is_secure()


@pytest.mark.django_db
def test_the_request_signals_work_visits_each_open_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper = connections["default"]
    wrapper.ensure_connection()
    checked: list[str] = []
    monkeypatch.setattr(wrapper, "close_if_unusable_or_obsolete", lambda: checked.append("checked"))
    wrapper.queries_log.append({"sql": "SELECT 1", "time": "0.000"})
    requestsignals.request_started.send(sender=EnvironRequest, environ={})
    assert checked == ["checked"]  # close_old_connections
    assert not wrapper.queries_log  # reset_queries
    requestsignals.request_finished.send(sender=EnvironRequest)
    assert checked == ["checked", "checked"]


@pytest.mark.django_db
@pytest.mark.parametrize("sender", [requestsignals.request_started, requestsignals.request_finished])
def test_a_receiver_it_does_not_know_is_called_as_django_would(sender: Any) -> None:
    heard: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        heard.append(kwargs)

    sender.send(sender=EnvironRequest, environ={})  # the known receivers: their work, no dispatch
    sender.signal.connect(receiver)
    try:
        sender.send(sender=EnvironRequest, environ={})
    finally:
        sender.signal.disconnect(receiver)
    sender.send(sender=EnvironRequest, environ={})
    assert len(heard) == 1
    assert heard[0]["signal"] is sender.signal


def test_it_knows_the_receivers_django_and_segops_connect() -> None:
    for sender in (requestsignals.request_started, requestsignals.request_finished):
        live, _ = sender.signal._live_receivers(EnvironRequest)
        assert sorted(map(repr, live)) == sorted(map(repr, sender.expected))
    assert signals.request_started is requestsignals.request_started.signal
