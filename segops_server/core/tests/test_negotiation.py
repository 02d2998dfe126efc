"""Content negotiation remembered per Accept header (core/negotiation.py): DRF's answers, always."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import (
    BaseRenderer,
    BrowsableAPIRenderer,
    HTMLFormRenderer,
    JSONRenderer,
    StaticHTMLRenderer,
)
from rest_framework.request import Request

from segops_server.core import negotiation
from segops_server.core.negotiation import RememberingContentNegotiation


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"


RENDERERS = (JSONRenderer, BrowsableAPIRenderer, StaticHTMLRenderer, HTMLFormRenderer, CsvRenderer)
RANGES = (
    "*/*",
    "application/*",
    "application/json",
    "application/json; indent=4",
    "application/json; charset=utf-8",
    "text/html",
    "text/*",
    "text/csv",
    "application/xml",
    "image/png",
    "",
)
accept_headers = st.one_of(
    st.none(),
    st.lists(
        st.tuples(st.sampled_from(RANGES), st.sampled_from(["", ";q=0", ";q=0.5", ";q=1"])),
        min_size=1,
        max_size=4,
    ).map(lambda parts: ", ".join(media + q for media, q in parts)),
)
renderer_lists = st.lists(st.sampled_from(RENDERERS), min_size=1, max_size=4, unique=True)


def _request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(RequestFactory().get("/api/segments/" + query, **headers))


def _answer(chooser: Any, request: Request, renderers: list[BaseRenderer], suffix: str | None) -> Any:
    try:
        renderer, media_type = chooser.select_renderer(request, renderers, suffix)
    except NotAcceptable as refused:
        return ("406", refused.available_renderers == renderers)
    except Exception as error:  # the same error both ways is the property
        return (type(error).__name__,)
    return (renderers.index(renderer), media_type)


@settings(max_examples=300, deadline=None)
@given(
    accept=accept_headers,
    classes=renderer_lists,
    query=st.sampled_from(["", "?format=json", "?format=html", "?format=csv", "?format=txt"]),
    suffix=st.sampled_from([None, None, "json", "csv"]),
)
def test_it_answers_as_drf_first_and_from_memory(
    accept: str | None, classes: list[type[BaseRenderer]], query: str, suffix: str | None
) -> None:
    renderers = [cls() for cls in classes]
    expected = _answer(DefaultContentNegotiation(), _request(accept, query), renderers, suffix)
    for _ in range(2):
        assert (
            _answer(RememberingContentNegotiation(), _request(accept, query), renderers, suffix) == expected
        )


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(negotiation, "LIMIT", 5)
    monkeypatch.setattr(negotiation, "_memory", {})
    renderers: list[BaseRenderer] = [JSONRenderer()]
    for n in range(20):
        _, media_type = RememberingContentNegotiation().select_renderer(
            _request(f"application/json; indent={n}"), renderers
        )
        assert media_type == f"application/json; indent={n}"
        assert len(negotiation._memory) <= 5


def test_api_views_negotiate_with_it(client: Any) -> None:
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is RememberingContentNegotiation
